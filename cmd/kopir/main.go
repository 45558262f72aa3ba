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
	"runtime"
	"runtime/debug"
	"slices"
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
	"version": {"print the version, the commit and the Go toolchain it was built from", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	if args[0] == "help" || isHelp(args[0]) {
		usage(e.stdout)
		return 0
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "kopir: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return 2
	}
	// Help, wherever it is asked for (kopir config check --help), goes to
	// stdout and is not an error: the command is asked for it alone.
	if i := slices.IndexFunc(args[1:], isHelp); i >= 0 {
		he := *e
		he.stderr = e.stdout
		if code := cmd.run(ctx, &he, append(slices.Clone(args[1:1+i]), "-h")); code != 2 {
			return code
		}
		return 0
	}
	return cmd.run(ctx, e, args[1:])
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// runVersion prints what the binary was built from.
func runVersion(_ context.Context, e *env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: kopir version")
		return 2
	}
	version, revision, dirty, goVersion := "(devel)", "unknown", "", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				revision = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = " (modified)"
			}
		}
	}
	fmt.Fprintf(e.stdout, "kopir %s, commit %s%s, %s %s/%s\n", version, revision, dirty, goVersion, runtime.GOOS, runtime.GOARCH)
	return 0
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
