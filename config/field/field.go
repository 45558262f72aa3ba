// Package field is what configuration fields are made of, for the
// components that own their configuration: a Secret (where a secret is,
// never its value) and Errors, which collect every problem of a section,
// each named by its path in the file.
//
// It imports nothing of Kopir's, so every component may use it; package
// config nests the components' sections and prefixes their paths.
package field

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Secret names where a secret is: an environment variable or a file. The
// value itself never appears in configuration.
type Secret struct {
	// Env is the environment variable holding it.
	Env string `yaml:"env"`
	// File is a file holding it (a trailing newline is dropped).
	File string `yaml:"file"`
}

// Resolve reads the secret; an unset Secret is "". A nil getenv is
// os.Getenv.
func (s Secret) Resolve(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("give env or file, not both")
	case s.Env != "":
		v := getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Set reports whether the secret is configured.
func (s Secret) Set() bool { return s.Env != "" || s.File != "" }

// Error is a configuration value that is wrong, named by its path.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return "config: " + e.Field + ": " + e.Msg }

// Errors collects the problems of one section. The zero value is ready.
type Errors struct {
	errs []error
}

// Add records a problem with the field at path.
func (e *Errors) Add(path, format string, args ...any) {
	e.errs = append(e.errs, &Error{Field: path, Msg: fmt.Sprintf(format, args...)})
}

// Exists records a problem when path names a file that cannot be
// reached; an empty path is not checked.
func (e *Errors) Exists(field, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		e.Add(field, "%v", err)
	}
}

// ListenAddr records a problem when addr is not an address a listener
// can take: host:port (the host may be empty, the port 0 for any free
// one), as net.Listen would refuse it only at start.
func (e *Errors) ListenAddr(field, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		e.Add(field, "%q is not host:port", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		e.Add(field, "%q: the port is not 0..65535", addr)
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /:") {
		e.Add(field, "%q: %q is not a host", addr, host)
	}
}

// Secret records a problem when s is set but cannot be read.
func (e *Errors) Secret(field string, s Secret, getenv func(string) string) {
	if _, err := s.Resolve(getenv); err != nil {
		e.Add(field, "%v", err)
	}
}

// Nest records the problems of a subsection, their paths under prefix.
// Errors that are not *Error are named by prefix alone.
func (e *Errors) Nest(prefix string, err error) {
	if err == nil {
		return
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, x := range list {
		var fe *Error
		if errors.As(x, &fe) {
			p := prefix
			switch {
			case fe.Field == "":
			case p == "":
				p = fe.Field
			default:
				if strings.HasPrefix(fe.Field, "[") {
					p += fe.Field
				} else {
					p += "." + fe.Field
				}
			}
			e.errs = append(e.errs, &Error{Field: p, Msg: fe.Msg})
			continue
		}
		e.errs = append(e.errs, &Error{Field: prefix, Msg: x.Error()})
	}
}

// Err is every problem joined, or nil.
func (e *Errors) Err() error { return errors.Join(e.errs...) }
