package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/signing"
)

// progress is one exchange under way: the envelope every attempt signs, the
// attempt under way, and the record the attempts fill. go-retryablehttp
// moves the bytes; the sequence of an attempt is here, in order:
//
//	sign (first, then prepareRetry) → post (the library) → end: read →
//	verify → replay → parse → bind → classify → decide
type progress struct {
	c        *Client
	caller   context.Context // the back end's: its end is an abandonment
	ctx      context.Context // caller's, bounded by the call's deadline
	deadline time.Time
	envelope []byte
	rec      *Record

	signed  []byte    // the attempt's signed envelope
	started time.Time // the attempt's start

	result *Result
	err    *Error
	wait   time.Duration // before the next attempt
}

// run makes the attempts and returns the call's result.
func (k *progress) run() (*Result, error) {
	c := k.c
	first, err := c.signer.Sign(k.ctx, k.envelope)
	if err != nil {
		if e := k.interrupted(); e != nil {
			return nil, e
		}
		// The signer is a digital system too (NCANode, an HSM): its
		// failure is reported like SHEP's.
		return nil, &Error{Kind: OutcomeSigner, Class: ClassSystem, Err: err}
	}
	k.signed = first
	hreq, err := retryablehttp.NewRequestWithContext(k.ctx, http.MethodPost, c.cfg.URL,
		retryablehttp.ReaderFunc(k.body))
	if err != nil {
		return nil, &Error{Kind: OutcomeMalformed, Class: ClassSystem, Err: err}
	}
	hreq.Header.Set("Content-Type", c.cfg.ContentType)
	hreq.Header.Set("SOAPAction", `"`+c.cfg.SOAPAction+`"`)
	// A client per call: its hooks close over this call, and nothing
	// travels through the context.
	rc := &retryablehttp.Client{
		HTTPClient:   c.hc,
		RetryMax:     c.cfg.Attempts - 1,
		CheckRetry:   k.end,
		PrepareRetry: k.prepareRetry,
		// The wait is taken in prepareRetry, on the injected clock.
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(hreq)
	if resp != nil {
		resp.Body.Close()
	}
	switch {
	case k.result != nil:
		return k.result, nil
	case k.err != nil && k.err.Kind != OutcomeCanceled:
		// The last attempt's failure, even when the caller left during
		// the wait after it: it is what the digital system did.
		return nil, k.err
	}
	if e := k.interrupted(); e != nil {
		return nil, e
	}
	return nil, &Error{Kind: OutcomeMalformed, Class: ClassSystem, Err: err}
}

// body gives the library the current attempt's envelope (it asks once for
// the length and once per attempt) and marks the attempt's start.
func (k *progress) body() (io.Reader, error) {
	k.started = k.c.clock.Now()
	return bytes.NewReader(k.signed), nil
}

// prepareRetry waits the back-off on the injected clock and signs the
// envelope anew: a retry never carries a stale Timestamp or a signature
// SHEP has seen.
func (k *progress) prepareRetry(req *http.Request) error {
	if k.wait > 0 {
		t := k.c.clock.NewTimer(k.wait)
		select {
		case <-k.ctx.Done():
			t.Stop()
			return k.ctx.Err()
		case <-t.Chan():
		}
	}
	signed, err := k.c.signer.Sign(k.ctx, k.envelope)
	if err != nil {
		k.err = &Error{Kind: OutcomeSigner, Class: ClassSystem, Err: err}
		return err
	}
	k.signed = signed
	req.ContentLength = int64(len(signed))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(signed)), nil }
	return nil
}

// end ends an attempt: it records the step and decides whether to try
// again (the library's CheckRetry).
func (k *progress) end(_ context.Context, resp *http.Response, doErr error) (bool, error) {
	c := k.c
	step := Step{Attempt: len(k.rec.Steps) + 1, Time: k.started, Upstream: c.upstream, ServiceID: k.rec.ServiceID,
		MessageID: k.rec.MessageID, Duration: c.clock.Now().Sub(k.started), Request: c.maskBody(k.signed)}
	k.result, k.err, k.wait = nil, nil, 0
	retry := k.attempt(&step, resp, doErr)
	if k.err != nil {
		step.Outcome = k.err.Kind
		if step.Error == "" {
			step.Error = pii.Text(k.err.Err.Error())
		}
	} else {
		step.Outcome = OutcomeOK
	}
	k.rec.Steps = append(k.rec.Steps, step)
	return retry && k.mayRetry(), nil
}

// mayRetry says whether another attempt fits: the caller still waits, and
// the wait leaves time before the deadline.
func (k *progress) mayRetry() bool {
	if k.ctx.Err() != nil {
		return false
	}
	if k.wait == 0 {
		k.wait = backoff(k.c.cfg.BackoffMin, k.c.cfg.BackoffMax, len(k.rec.Steps)-1)
	}
	return k.c.clock.Now().Add(k.wait).Before(k.deadline)
}

// attempt reads one attempt's outcome into k.result or k.err and says
// whether it is worth retrying.
func (k *progress) attempt(step *Step, resp *http.Response, doErr error) (retry bool) {
	if doErr != nil {
		return k.transportFailed(step, doErr)
	}
	step.HTTPStatus = resp.StatusCode
	raw, retry, ok := k.read(step, resp)
	if !ok {
		return retry
	}
	verified, ok := k.verify(resp.StatusCode, raw)
	if !ok {
		return k.err.Kind == OutcomeTransient
	}
	if !k.c.firstSeen(k.ctx, verified.SignatureValue) {
		k.fail(OutcomeReplay, ClassSystem, resp.StatusCode,
			fmt.Errorf("an answer whose signature was already seen within %s", k.c.cfg.ReplayWindow))
		return false
	}
	r, ok := k.parse(resp.StatusCode, verified.Body)
	if !ok {
		return k.err.Kind == OutcomeTransient
	}
	if !k.bound(r) {
		k.fail(OutcomeUnbound, ClassSystem, resp.StatusCode, errors.New("the answer's correlationId is not this request's messageId"))
		return false
	}
	if ok, class, transient := k.c.cfg.Statuses.Classify(r.Status.Code); !ok {
		// Not data: a failure, reported like a fault (or a business
		// answer, when the table says so).
		k.fail(OutcomeStatus, class, resp.StatusCode, &StatusError{Code: r.Status.Code, Message: r.Status.Message})
		return transient
	}
	k.result = &Result{Response: r, Signer: verified.Identity}
	return false
}

func (k *progress) fail(kind Outcome, class Class, status int, err error) {
	k.err = &Error{Kind: kind, Class: class, HTTPStatus: status, Err: err}
}

// transportFailed classes an attempt that got no response.
func (k *progress) transportFailed(step *Step, doErr error) bool {
	step.Error = pii.Text(doErr.Error())
	switch {
	case k.caller.Err() != nil:
		// The run ends the call as abandoned; the step says so too.
		k.fail(OutcomeCanceled, ClassBusiness, 0, doErr)
		return false
	case k.ctx.Err() != nil:
		k.err = k.overDeadline()
		return false
	}
	kind := OutcomeTransport
	if isTimeout(doErr) {
		kind = OutcomeTimeout
	}
	k.fail(kind, ClassSystem, 0, doErr)
	// The library's policy declines what retrying cannot fix: bad
	// certificates, bad URLs, too many redirects.
	retry, _ := retryablehttp.DefaultRetryPolicy(context.Background(), nil, doErr)
	return retry
}

// read takes the response's bytes, within the size limit, and classes the
// HTTP statuses that are failures whatever the body says.
func (k *progress) read(step *Step, resp *http.Response) (raw []byte, retry, ok bool) {
	limit := k.c.cfg.MaxResponseBytes
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(nil))
	step.Response = k.c.maskBody(raw)
	switch code := resp.StatusCode; {
	case err != nil:
		k.fail(OutcomeTransport, ClassSystem, code, err)
		return nil, true, false
	case int64(len(raw)) > limit:
		k.fail(OutcomeTooLarge, ClassSystem, code, fmt.Errorf("response over %d bytes", limit))
		return nil, false, false
	case code == http.StatusTooManyRequests, code == http.StatusBadGateway,
		code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		k.fail(OutcomeHTTP, ClassSystem, code, errors.New(resp.Status))
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), k.c.clock.Now()); ok {
			k.wait = max(after, time.Millisecond)
		}
		return nil, true, false
	case code != http.StatusOK && code != http.StatusInternalServerError:
		k.fail(OutcomeHTTP, ClassSystem, code, errors.New(resp.Status))
		return nil, false, false
	}
	return raw, false, true
}

// verify checks the answer's signature. Nothing in a response is read
// before: an unsigned or badly signed answer is a failure, never data —
// except that an unsigned fault is classed by its code, as untrusted
// information, and a page that is not SOAP is an HTTP failure.
func (k *progress) verify(status int, raw []byte) (*signing.Result, bool) {
	c := k.c
	verified, err := c.verifier.Verify(raw)
	if err == nil {
		return verified, true
	}
	var se *signing.Error
	fault, soap := c.unverifiedFault(raw)
	switch {
	case fault != nil && errors.As(err, &se) && se.Reason == signing.ReasonUnsigned:
		uf := &UnsignedFault{System: c.cfg.System, Code: fault.ErrorCode(), faultString: fault.String, HTTPStatus: status}
		if fault.Info != nil {
			uf.Message = fault.Info.Message
		}
		kind := OutcomeFault
		if _, transient := c.cfg.Faults.Classify(fault); transient {
			kind = OutcomeTransient
		}
		k.fail(kind, ClassSystem, status, uf)
	case !soap && status != http.StatusOK:
		k.fail(OutcomeHTTP, ClassSystem, status, fmt.Errorf("HTTP %d with a body that is not SOAP", status))
	default:
		k.fail(OutcomeSignature, ClassSystem, status, err)
	}
	return nil, false
}

// parse reads the verified Body: an answer, or a fault classed by the
// fault table.
func (k *progress) parse(status int, body []byte) (*shep.Response, bool) {
	r, err := shep.ParseBody(body, k.c.cfg.Limits)
	var fault *shep.Fault
	switch {
	case errors.As(err, &fault):
		class, transient := k.c.cfg.Faults.Classify(fault)
		kind := OutcomeFault
		if class == ClassBusiness {
			kind = OutcomeBusiness
		} else if transient {
			kind = OutcomeTransient
		}
		k.fail(kind, class, status, fault)
		return nil, false
	case err != nil:
		k.fail(OutcomeMalformed, ClassSystem, status, err)
		return nil, false
	case status != http.StatusOK:
		k.fail(OutcomeHTTP, ClassSystem, status, errors.New("HTTP 500 with a response that is not a fault"))
		return nil, false
	}
	return r, true
}

// bound says whether the answer answers this request, by the configured
// rule: correlation checks the answer's correlationId when it has one.
func (k *progress) bound(r *shep.Response) bool {
	return k.c.cfg.Binding != "correlation" || r.CorrelationID == "" || r.CorrelationID == k.rec.MessageID
}

// abandoned is the end of a call the back end gave up on. A call that had
// waited HangAfter by then is a hang: a failure of the digital system,
// counted and reported as one; an earlier abandonment is the back end's
// own business.
func (k *progress) abandoned() *Error {
	if waited := k.c.clock.Now().Sub(k.rec.Started); waited >= k.c.cfg.HangAfter {
		return &Error{Kind: OutcomeTimeout, Class: ClassSystem,
			Err: fmt.Errorf("no answer after %s, when the caller gave up: %w", waited.Round(time.Millisecond), k.caller.Err())}
	}
	return &Error{Kind: OutcomeCanceled, Class: ClassBusiness, Err: k.caller.Err()}
}

// interrupted is the end of a call whose context ended: abandoned by its
// caller, or past its deadline; nil while it runs.
func (k *progress) interrupted() *Error {
	switch {
	case k.caller.Err() != nil:
		return k.abandoned()
	case k.ctx.Err() != nil:
		return k.overDeadline()
	}
	return nil
}

// overDeadline is the end of a call that ran out of its deadline.
func (k *progress) overDeadline() *Error {
	return &Error{Kind: OutcomeTimeout, Class: ClassSystem,
		Err: fmt.Errorf("no answer within the call's deadline of %s: %w", k.c.cfg.Deadline, context.DeadlineExceeded)}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
