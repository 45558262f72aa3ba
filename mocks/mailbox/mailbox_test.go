package mailboxmock

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func startMailbox(t *testing.T, o Options) (*Mailbox, string, *httptest.Server) {
	t.Helper()
	mb := New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go mb.Serve(l)
	web := httptest.NewServer(mb.Handler())
	t.Cleanup(func() { mb.Close(); web.Close() })
	return mb, l.Addr().String(), web
}

const mailText = "From: kopir@example.kz\r\nTo: sd@nitec.kz\r\nSubject: =?UTF-8?B?0KHQsdC+0Lk=?=\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n"

func send(addr string, auth smtp.Auth) error {
	return smtp.SendMail(addr, auth, "kopir@example.kz", []string{"sd@nitec.kz"}, []byte(mailText))
}

func TestKeepsAndShows(t *testing.T) {
	mb, addr, web := startMailbox(t, Options{})
	// Empty, it is an empty list, not null.
	resp, _ := http.Get(web.URL + "/messages")
	empty, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(empty)) != "[]" {
		t.Fatalf("empty mailbox: %s", empty)
	}
	for range 2 {
		if err := send(addr, nil); err != nil {
			t.Fatal(err)
		}
	}
	msgs := mb.Messages()
	if len(msgs) != 2 || msgs[0].Subject != "Сбой" || msgs[0].MessageID != "a@b" || msgs[0].Resend || !msgs[1].Resend ||
		msgs[0].To[0] != "sd@nitec.kz" {
		t.Fatalf("%+v", msgs)
	}
	resp, _ = http.Get(web.URL + "/messages")
	var got []Message
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got) != 2 || got[1].Seq != 2 {
		t.Errorf("JSON view: %+v", got)
	}
	resp, _ = http.Get(web.URL + "/messages/1.eml")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), "hello") {
		t.Errorf("eml: %q", raw)
	}
	resp, _ = http.Get(web.URL + "/")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Сбой") || !strings.Contains(string(page), "(resend)") {
		t.Errorf("HTML view lacks the mails: %s", page)
	}
	for _, path := range []string{"/messages/3.eml", "/messages/x"} {
		resp, _ = http.Get(web.URL + path)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestFaults(t *testing.T) {
	mb, addr, web := startMailbox(t, Options{})
	for _, body := range []string{`{"kind":"tempfail","count":1}`, `{"kind":"reject","count":1}`} {
		resp, _ := http.Post(web.URL+"/_control/faults", "application/json", strings.NewReader(body))
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("%s: %d", body, resp.StatusCode)
		}
	}
	err := send(addr, nil)
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("tempfail: %v", err)
	}
	if err := send(addr, nil); err == nil || !strings.Contains(err.Error(), "554") {
		t.Errorf("reject: %v", err)
	}
	if err := send(addr, nil); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	if n := len(mb.Messages()); n != 1 {
		t.Errorf("%d kept; refused mails must not be", n)
	}
	resp, _ := http.Post(web.URL+"/_control/faults", "application/json", strings.NewReader(`{"kind":"delay","delay":"20ms","count":1}`))
	resp.Body.Close()
	resp, _ = http.Get(web.URL + "/_control/faults")
	rules, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(rules), `"delay":"20ms"`) {
		t.Errorf("faults in force: %s", rules)
	}
	start := time.Now()
	if err := send(addr, nil); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("delayed mail: %v after %v", err, time.Since(start))
	}
	resp, _ = http.Post(web.URL+"/_control/faults", "application/json", strings.NewReader(`{"kind":"explode"}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown fault kind: %d", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	mb, addr, _ := startMailbox(t, Options{Username: "kopir", Password: "pw"})
	if err := send(addr, nil); err == nil {
		t.Error("accepted without AUTH")
	}
	// net/smtp sends PLAIN in clear text only to localhost, which this is.
	if err := send(addr, smtp.PlainAuth("", "kopir", "wrong", "127.0.0.1")); err == nil {
		t.Error("accepted a wrong password")
	}
	if err := send(addr, smtp.PlainAuth("", "kopir", "pw", "127.0.0.1")); err != nil {
		t.Error(err)
	}
	if n := len(mb.Messages()); n != 1 {
		t.Errorf("%d kept", n)
	}
}
