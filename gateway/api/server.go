package api

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kopir/kopir/config/field"
)

// Listening bounds what a client may hold of a listener: the http section of
// Kopir's configuration file, applied to the API's and the operators'
// listeners alike. Without it a slow or idle client (authenticated or
// not) holds its connection for as long as it likes.
type Listening struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default: 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included (a
	// failure report with screenshots is the largest). Default: 60s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from its headers to its answer's
	// end: longer than an exchange's deadline (15s) and its retries'
	// back-off. Default: 60s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes a kept-alive connection left idle. Default: 60s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConnections caps the connections a listener holds at once; more
	// wait in the kernel's backlog. Default: 1024.
	MaxConnections int `yaml:"max_connections"`
}

// SetDefaults fills what is unset with the defaults documented on Listening.
func (s *Listening) SetDefaults() {
	for _, d := range []struct {
		to  *time.Duration
		def time.Duration
	}{{&s.ReadHeaderTimeout, 10 * time.Second}, {&s.ReadTimeout, time.Minute}, {&s.WriteTimeout, time.Minute}, {&s.IdleTimeout, time.Minute}} {
		if *d.to == 0 {
			*d.to = d.def
		}
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = 1024
	}
}

// Validate reports every problem, each named by its field.
func (s *Listening) Validate() error {
	var e field.Errors
	for name, d := range map[string]time.Duration{"read_header_timeout": s.ReadHeaderTimeout, "read_timeout": s.ReadTimeout,
		"write_timeout": s.WriteTimeout, "idle_timeout": s.IdleTimeout} {
		if d < 0 || d > time.Hour {
			e.Add(name, "%s is not between 0 and 1h", d)
		}
	}
	if s.ReadHeaderTimeout > s.ReadTimeout {
		e.Add("read_header_timeout", "longer than read_timeout (%s)", s.ReadTimeout)
	}
	if s.MaxConnections < 0 {
		e.Add("max_connections", "must not be negative")
	}
	return e.Err()
}

// HTTPServer is an http.Server for h with these bounds.
func (s *Listening) HTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: s.ReadHeaderTimeout, ReadTimeout: s.ReadTimeout,
		WriteTimeout: s.WriteTimeout, IdleTimeout: s.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// Listener is ln holding at most MaxConnections connections at once.
func (s *Listening) Listener(ln net.Listener) net.Listener {
	if s.MaxConnections <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, s.MaxConnections)}
}

// limitListener accepts a connection only when a slot is free; closing
// the connection frees it.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, free: func() { <-l.slots }}, nil
}

type slotConn struct {
	net.Conn
	once sync.Once
	free func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.free)
	return err
}
