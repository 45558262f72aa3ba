// Command kopir is the Kopir integration gateway: one binary whose
// sub-commands sign and verify SOAP envelopes, make a development PKI, and
// run the gateway and its mocks.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one sub-command. run returns the process exit code: 0 done,
// 1 refused or failed, 2 bad usage.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command reads and writes, injected so tests drive the
// commands without a process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = map[string]command{
	"sign":    {"sign a SOAP envelope with a WS-Security transport signature", runSign},
	"verify":  {"verify a SOAP envelope's transport signature", runVerify},
	"dev-pki": {"make a development CA and keys for the gateway and the mocks", runDevPKI},
	"mock":    {"run a mock of an external system: shep, payments, mailbox", runMock},
	"serve":   {"run the gateway from a configuration file", runServe},
	"config":  {"check a configuration file: config check FILE", runConfig},
	"api-key": {"make an API key for a back end and the hash the configuration keeps", runAPIKey},
	"up":      {"run the gateway and every mock locally, development keys made on first run", runUp},
	"reports": {"list, show and resend failure reports: reports list|show ID|resend ID", runReports},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "kopir: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return 2
	}
	return cmd.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kopir <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'kopir <command> -h' for a command's flags.")
}
