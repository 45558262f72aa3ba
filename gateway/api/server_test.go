package api_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/api"
)

func listen(t *testing.T, l api.Listening, h http.Handler) string {
	t.Helper()
	l.SetDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.HTTPServer(h)
	go srv.Serve(l.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closed reports whether the server closed c within d.
func closed(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			ne, ok := err.(net.Error)
			return !ok || !ne.Timeout()
		}
	}
}

// TestSlowClients: a body that trickles in and a connection left idle are
// cut off by the listener's timeouts, unauthenticated or not.
func TestSlowClients(t *testing.T) {
	addr := listen(t, api.Listening{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 300 * time.Millisecond,
		IdleTimeout: 300 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
	}))
	// A body promised and never sent.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nab"))
	if !closed(c, 3*time.Second) {
		t.Fatal("a slow body held its connection")
	}
	// Headers that never end.
	h, _ := net.Dial("tcp", addr)
	defer h.Close()
	h.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	if !closed(h, 3*time.Second) {
		t.Fatal("slow headers held their connection")
	}
	// A kept-alive connection left idle.
	k, _ := net.Dial("tcp", addr)
	defer k.Close()
	k.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if _, err := http.ReadResponse(bufio.NewReader(k), nil); err != nil {
		t.Fatal(err)
	}
	if !closed(k, 3*time.Second) {
		t.Fatal("an idle connection was kept")
	}
}

// TestConnectionCap: past max_connections, a new connection waits until
// one of those held closes.
func TestConnectionCap(t *testing.T) {
	addr := listen(t, api.Listening{MaxConnections: 2}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	third, _ := net.Dial("tcp", addr) // the kernel takes it; the server does not serve it yet
	defer third.Close()
	third.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := third.Read(make([]byte, 64)); n > 0 {
		t.Fatal("a third connection was served past a cap of two")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("once a slot freed: %v", err)
	}
	b := make([]byte, 2)
	resp.Body.Read(b)
	if !strings.HasPrefix(string(b), "ok") {
		t.Fatalf("body %q", b)
	}
}
