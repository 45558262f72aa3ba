package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

func reportsAPI(t *testing.T) (*httptest.Server, *outbox.Outbox) {
	return reportsAPIOn(t, clockwork.NewRealClock())
}

func reportsAPIOn(t *testing.T, clk clockwork.Clock) (*httptest.Server, *outbox.Outbox) {
	t.Helper()
	ob, err := outbox.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"), nil,
		outbox.Options{Clock: clk, Config: outbox.Config{MailOptions: report.MailOptions{From: "kopir@licensing.example.kz"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	srv := httptest.NewServer(api.New(api.Backends{Reports: ob}, api.Options{UploadLimit: 1 << 20}))
	t.Cleanup(srv.Close)
	return srv, ob
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody is a report part and screenshot parts.
func multipartBody(t *testing.T, reportJSON string, shots ...[]byte) (string, *bytes.Buffer) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="report"`)
	h.Set("Content-Type", "application/json")
	p, _ := w.CreatePart(h)
	io.WriteString(p, reportJSON)
	for i, s := range shots {
		f, _ := w.CreateFormFile("screenshot", "screen-"+string(rune('1'+i))+".png")
		f.Write(s)
	}
	w.Close()
	return w.FormDataContentType(), &b
}

const fullReport = `{"system":"eLicense","fault":"ui_timeout","error":"the licensing portal did not answer",
	"service_name":"Экспорт лицензиясы","application_id":"KZ-LIC-2026-00099","recipient_id":"050340000108",
	"authorized_at":"2026-11-25T09:00:00+05:00","error_at":"2026-11-25T09:03:30+05:00",
	"steps":[{"time":"2026-11-25T09:01:00+05:00","text":"opened the application"},{"text":"pressed Sign"}]}`

func TestPostFailureReport(t *testing.T) {
	srv, ob := reportsAPI(t)
	ct, body := multipartBody(t, fullReport, pngBytes(t), pngBytes(t))
	resp, err := http.Post(srv.URL+"/v1/failure-reports", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		ID, Incident, State string
		Missing             []string
	}
	json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || acc.ID == "" || acc.State != "pending" || len(acc.Missing) != 0 {
		t.Fatalf("%d %+v", resp.StatusCode, acc)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/failure-reports/"+acc.ID {
		t.Errorf("Location = %q", loc)
	}
	// Stored before the answer: the outbox has it, with the screenshots.
	e, err := ob.Get(context.Background(), acc.ID)
	if err != nil || len(e.Report.Attachments) != 2 || e.Report.Source != report.SourceBackend || len(e.Report.Notes) != 2 {
		t.Fatalf("stored: %+v, %v", e, err)
	}

	// The list shows it, the recipient masked.
	resp, _ = http.Get(srv.URL + "/v1/failure-reports?state=pending&system=eLicense")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), acc.ID) || strings.Contains(string(raw), "050340000108") {
		t.Errorf("list: %d %s", resp.StatusCode, raw)
	}
	var list struct{ Reports []map[string]any }
	json.Unmarshal(raw, &list)
	if len(list.Reports) != 1 || list.Reports[0]["elapsed_ms"] != float64(210000) {
		t.Errorf("list = %s", raw)
	}
	for _, q := range []string{"?state=delivered", "?system=shep", "?from=2099-01-01T00:00:00Z"} {
		resp, _ = http.Get(srv.URL + "/v1/failure-reports" + q)
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if len(list.Reports) != 0 {
			t.Errorf("%s: %d reports", q, len(list.Reports))
		}
	}

	// One report, with its evidence listed.
	resp, _ = http.Get(srv.URL + "/v1/failure-reports/" + acc.ID)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"screen-1.png"`) || !strings.Contains(string(raw), "pressed Sign") {
		t.Errorf("show: %d %s", resp.StatusCode, raw)
	}

	// The mail that will carry it.
	resp, _ = http.Get(srv.URL + "/v1/failure-reports/" + acc.ID + ".eml")
	m, err := mail.ReadMessage(resp.Body)
	if err != nil || resp.Header.Get("Content-Type") != "message/rfc822" {
		t.Fatalf("eml: %v %q", err, resp.Header.Get("Content-Type"))
	}
	b, _ := io.ReadAll(m.Body)
	resp.Body.Close()
	if !strings.Contains(m.Header.Get("Message-Id"), "@licensing.example.kz>") || !bytes.Contains(b, []byte(`filename="r1-backend1-screen-1.png"`)) {
		t.Errorf("eml: %v\n%s", m.Header, b[:min(len(b), 2000)])
	}
}

func TestPostFailureReportHeadersAndGaps(t *testing.T) {
	srv, _ := reportsAPI(t)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/failure-reports", strings.NewReader(`{"system":"payments","error":"no answer"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(api.HeaderServiceName, "%D0%98%D0%BC%D0%BF%D0%BE%D1%80%D1%82") // Импорт
	req.Header.Set(api.HeaderRecipientID, "880101300010")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		ID      string
		Missing []string
	}
	json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if resp.StatusCode != 202 || strings.Join(acc.Missing, ",") != "application,time_from_authorization,evidence" {
		t.Fatalf("%d %+v", resp.StatusCode, acc)
	}
	resp, _ = http.Get(srv.URL + "/v1/failure-reports/" + acc.ID)
	var v struct {
		App struct {
			ServiceName string `json:"service_name"`
			RecipientID string `json:"recipient_id"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if v.App.ServiceName != "Импорт" || v.App.RecipientID != "********0010" {
		t.Errorf("app = %+v", v.App)
	}
}

func TestPostFailureReportErrors(t *testing.T) {
	srv, ob := reportsAPI(t)
	big := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, 1<<18)
	for _, tc := range []struct {
		name   string
		ct     string
		body   io.Reader
		status int
		typ    string
	}{
		{"not json", "application/json", strings.NewReader("{"), 400, "bad-input"},
		{"unknown field", "application/json", strings.NewReader(`{"system":"x","error":"y","colour":"red"}`), 400, "bad-input"},
		{"no system", "application/json", strings.NewReader(`{"error":"y"}`), 400, "bad-input"},
		{"no error", "application/json", strings.NewReader(`{"system":"x"}`), 400, "bad-input"},
		{"bad recipient", "application/json", strings.NewReader(`{"system":"x","error":"y","recipient_id":"880101300011"}`), 400, "bad-input"},
		{"error before authorisation", "application/json", strings.NewReader(`{"system":"x","error":"y",
			"authorized_at":"2026-11-25T10:00:00Z","error_at":"2026-11-25T09:00:00Z"}`), 400, "bad-input"},
		// Bounded, and no terminal escapes or line breaks where a subject goes.
		{"a 2 MB service name", "application/json", strings.NewReader(`{"system":"x","error":"y","service_name":"` + strings.Repeat("я", 1<<20) + `"}`), 400, "bad-input"},
		{"an escape in the service name", "application/json", strings.NewReader(`{"system":"x","error":"y","service_name":"a\u001b[2Jb"}`), 400, "bad-input"},
		{"a line break in the application", "application/json", strings.NewReader(`{"system":"x","error":"y","application_id":"A\nID  RECEIVED"}`), 400, "bad-input"},
		{"an escape in a step", "application/json", strings.NewReader(`{"system":"x","error":"y","steps":[{"text":"\u001b[31m"}]}`), 400, "bad-input"},
		{"text body", "text/plain", strings.NewReader("help"), 415, "unsupported-media-type"},
		{"no content type", "", strings.NewReader("help"), 415, "unsupported-media-type"},
		{"not an image", "", nil, 415, "unsupported-media-type"},
		{"too large", "", nil, 413, "too-large"},
		{"no report part", "", nil, 400, "bad-input"},
		// An upload cut off anywhere is refused, never taken without what
		// it did not bring.
		{"cut off in a screenshot", "", nil, 400, "bad-input"},
		{"cut off before the closing boundary", "", nil, 400, "bad-input"},
		{"cut off in the report", "", nil, 400, "bad-input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := tc.ct, tc.body
			switch tc.name {
			case "not an image":
				ct, body = multipartBody(t, `{"system":"x","error":"y"}`, []byte("GIF89a not allowed"))
			case "too large":
				ct, body = multipartBody(t, `{"system":"x","error":"y"}`, big, big)
			case "cut off in a screenshot", "cut off before the closing boundary", "cut off in the report":
				var b *bytes.Buffer
				ct, b = multipartBody(t, `{"system":"x","error":"y"}`, pngBytes(t))
				full := b.String()
				cut := map[string]int{"cut off in a screenshot": len(full) - 40, "cut off before the closing boundary": strings.LastIndex(full, "\r\n--"),
					"cut off in the report": strings.Index(full, `"error"`)}[tc.name]
				body = strings.NewReader(full[:cut])
			case "no report part":
				var b *bytes.Buffer
				ct, b = multipartBody(t, `{}`)
				body = strings.NewReader(strings.Replace(b.String(), `name="report"`, `name="other"`, 1))
			}
			req, _ := http.NewRequest("POST", srv.URL+"/v1/failure-reports", body)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct{ Type string }
			json.NewDecoder(resp.Body).Decode(&p)
			if resp.StatusCode != tc.status || p.Type != "urn:kopir:problem:"+tc.typ {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, p.Type, tc.status, tc.typ)
			}
		})
	}
	if es, _ := ob.List(context.Background(), outbox.Filter{}); len(es) != 0 {
		t.Errorf("%d refused reports stored", len(es))
	}
	for _, path := range []string{"/v1/failure-reports/nope", "/v1/failure-reports/nope.eml"} {
		resp, _ := http.Get(srv.URL + path)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	for _, q := range []string{"state=lost", "limit=0", "from=yesterday"} {
		resp, _ := http.Get(srv.URL + "/v1/failure-reports?" + q)
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("?%s = %d", q, resp.StatusCode)
		}
	}
}

func TestReportsUnconfigured(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Backends{}, api.Options{}))
	defer srv.Close()
	resp, _ := http.Get(srv.URL + "/v1/failure-reports")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestListPaging(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	srv, ob := reportsAPIOn(t, clk)
	for range 5 {
		ob.Accept(context.Background(), &report.Report{System: "shep", Fault: "timeout", Error: "x", ErrorAt: clk.Now()})
		clk.Advance(time.Millisecond)
	}
	seen := map[string]bool{}
	next := ""
	for page := 0; page < 5; page++ {
		resp, _ := http.Get(srv.URL + "/v1/failure-reports?limit=2&before=" + next)
		var l struct {
			Reports []struct{ ID string }
			Next    string
		}
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		for _, r := range l.Reports {
			if seen[r.ID] {
				t.Fatalf("%s twice", r.ID)
			}
			seen[r.ID] = true
		}
		if next = l.Next; next == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Errorf("paged through %d of 5", len(seen))
	}
}

// TestReportScope: a back end scoped to its state services reads only
// their reports — in the list, one by one and as the mail — whatever
// header it sends; an unscoped one reads all.
func TestReportScope(t *testing.T) {
	ob, err := outbox.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"), nil,
		outbox.Options{Config: outbox.Config{MailOptions: report.MailOptions{From: "kopir@licensing.example.kz"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctx := context.Background()
	file := func(system, service string) string {
		r := &report.Report{Source: report.SourceBackend, System: system, Fault: "down",
			App: exchange.AppContext{ServiceName: service, ApplicationID: "KZ-1", RecipientID: "880101300010"}}
		if _, err := ob.Accept(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	mine := file("a", "Экспорт лицензиясы")   // alone in its incident
	theirs := file("b", "Импорт лицензиясы")  // another service's
	shared := file("c", "Экспорт лицензиясы") // in one incident…
	file("c", "Импорт лицензиясы")            // …with another service's report
	sum := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	guard, err := access.New([]access.Client{
		{Name: "exports", KeySHA256: []string{sum("k")}, Allow: []string{access.RightReportsRead}, Services: []string{"Экспорт лицензиясы"}},
		{Name: "desk", KeySHA256: []string{sum("d")}, Allow: []string{access.RightReportsRead}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Backends{Reports: ob}, api.Options{Guard: guard}))
	defer srv.Close()
	get := func(key, path string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		// A header naming another service changes nothing.
		req.Header.Set(api.HeaderServiceName, url.PathEscape("Импорт лицензиясы"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("k", "/v1/failure-reports")
	if code != 200 || !strings.Contains(body, mine) || !strings.Contains(body, shared) || strings.Contains(body, theirs) ||
		strings.Contains(body, "Импорт") {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, tc := range []struct {
		key, path string
		want      int
	}{
		{"k", "/v1/failure-reports/" + mine, 200},
		{"k", "/v1/failure-reports/" + mine + ".eml", 200},
		{"k", "/v1/failure-reports/" + theirs, 404},
		{"k", "/v1/failure-reports/" + theirs + ".eml", 404},
		{"k", "/v1/failure-reports/" + shared, 200},
		{"k", "/v1/failure-reports/" + shared + ".eml", 403},
		{"d", "/v1/failure-reports/" + theirs, 200},
		{"d", "/v1/failure-reports/" + shared + ".eml", 200},
	} {
		if code, body := get(tc.key, tc.path); code != tc.want {
			t.Errorf("%s %s: %d, want %d: %.200s", tc.key, tc.path, code, tc.want, body)
		}
	}
	if code, body := get("d", "/v1/failure-reports"); code != 200 || !strings.Contains(body, theirs) {
		t.Fatalf("unscoped list: %d", code)
	}
}
