package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	mail "github.com/wneessen/go-mail"

	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
)

// memReports keeps accepted reports in memory: the fuzzer measures the
// parser, not SQLite.
type memReports struct{ n int }

func (m *memReports) Accept(_ context.Context, r *report.Report) (string, error) {
	m.n++
	r.ID = "r"
	return "i", nil
}
func (m *memReports) List(context.Context, outbox.Filter) ([]outbox.Entry, error) { return nil, nil }
func (m *memReports) Get(context.Context, string) (*outbox.Entry, error) {
	return nil, outbox.ErrNotFound
}
func (m *memReports) Message(context.Context, string) (*mail.Msg, error) {
	return nil, outbox.ErrNotFound
}

// FuzzFailureReport: whatever a back end posts, the answer is 202 or a
// client error, never a panic or a 500.
func FuzzFailureReport(f *testing.F) {
	ct, body := multipartBody(&testing.T{}, fullReport, []byte("\x89PNG\r\n\x1a\n"))
	f.Add("multipart/form-data; boundary="+ct[len("multipart/form-data; boundary="):], body.Bytes())
	f.Add("application/json", []byte(fullReport))
	f.Add("application/json", []byte(`{"system":"x","error":"y","recipient_id":"880101300010"}`))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n{}\r\n--x--\r\n"))
	reports := &memReports{}
	h := api.New(api.Backends{Reports: reports}, api.Options{UploadLimit: 1 << 16})
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest("POST", "/v1/failure-reports", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
