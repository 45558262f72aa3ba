package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/report/outbox"
)

const reportsUsage = `usage: kopir reports [--config FILE] list [--state pending|delivered] [--system S] [--since 24h] [--limit N] [--json]
       kopir reports [--config FILE] show ID [--eml]
       kopir reports [--config FILE] resend ID

Reads the failure-report outbox named by the configuration (reports.database). resend queues the
incident mail carrying the report to go again, with the same Message-ID; a running Kopir sends it.`

func runReports(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir reports", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "kopir.yaml", "configuration `file`")
	fs.Usage = func() { fmt.Fprintln(e.stderr, reportsUsage) }
	err := fs.Parse(args)
	if err != nil || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(e.stderr, "kopir reports:", err); return 1 }
	sub, rest := fs.Arg(0), fs.Args()[1:]
	// --config is the command's, but is taken after the sub-command too.
	if rest, err = takeFlag(rest, "config", path); err != nil {
		fmt.Fprintln(e.stderr, "kopir reports:", err)
		return 2
	}
	if slices.ContainsFunc(rest, isHelp) {
		fs.Usage()
		return 2
	}
	// list's flags are checked before anything is opened.
	lf := flag.NewFlagSet("kopir reports list", flag.ContinueOnError)
	lf.SetOutput(e.stderr)
	state := lf.String("state", "", "pending, delivered or refused (by the relay, for good)")
	system := lf.String("system", "", "the failed system")
	since := lf.Duration("since", 0, "received within this `duration`")
	limit := lf.Int("limit", 100, "at most this many")
	asJSON := lf.Bool("json", false, "JSON lines, recipient masked")
	if sub == "list" {
		if err := lf.Parse(rest); err != nil || lf.NArg() > 0 {
			return 2
		}
		if st := outbox.State(*state); st != "" && st != outbox.StatePending && st != outbox.StateDelivered && st != outbox.StateRefused {
			fmt.Fprintf(e.stderr, "kopir reports list: --state %q is not pending, delivered or refused\n", *state)
			return 2
		}
	}
	cfg, err := config.Load(*path, e.getenv)
	if err != nil {
		return fail(err)
	}
	database, err := cfg.Reports.DatabaseURL(e.getenv)
	if err != nil {
		return fail(err)
	}
	ob, err := outbox.Open(ctx, database, nil, outbox.Options{Config: cfg.Reports})
	if err != nil {
		return fail(err)
	}
	defer ob.Close()
	switch sub {
	case "list":
		f := outbox.Filter{State: outbox.State(*state), System: *system, Limit: *limit}
		if *since > 0 {
			f.From = time.Now().Add(-*since)
		}
		es, err := ob.List(ctx, f)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			for i := range es {
				es[i].Report.App.RecipientID = pii.ID(es[i].Report.App.RecipientID)
				enc.Encode(es[i])
			}
			return 0
		}
		w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tRECEIVED\tSYSTEM\tFAULT\tSTATE\tATTEMPTS\tSERVICE\tAPPLICATION\tRECIPIENT\tMISSING")
		for _, en := range es {
			r := en.Report
			var missing []string
			for _, it := range r.Missing() {
				missing = append(missing, strconv.Itoa(int(it)))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", cell(r.ID), r.Received.Format(time.RFC3339), cell(r.System), cell(r.Fault),
				en.State, en.Attempts, cell(r.App.ServiceName), cell(r.Application()), cell(pii.ID(r.App.RecipientID)), cell(strings.Join(missing, ",")))
		}
		w.Flush()
		return 0
	case "show":
		sf := flag.NewFlagSet("kopir reports show", flag.ContinueOnError)
		sf.SetOutput(e.stderr)
		eml := sf.Bool("eml", false, "print the incident mail as sent")
		if len(rest) == 0 {
			fs.Usage()
			return 2
		}
		if err := sf.Parse(rest[1:]); err != nil || sf.NArg() > 0 {
			return 2
		}
		if *eml {
			m, err := ob.Message(ctx, rest[0])
			if err != nil {
				return fail(err)
			}
			if _, err := m.WriteTo(e.stdout); err != nil {
				return fail(err)
			}
			return 0
		}
		en, err := ob.Get(ctx, rest[0])
		if err != nil {
			return fail(err)
		}
		en.Report.App.RecipientID = pii.ID(en.Report.App.RecipientID)
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // evidence holds XML: shown as written, not as \u003c
		enc.Encode(en)
		return 0
	case "resend":
		if len(rest) != 1 {
			fs.Usage()
			return 2
		}
		if err := ob.Resend(ctx, rest[0]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(e.stdout, "report %s: queued to be sent again\n", rest[0])
		return 0
	}
	fs.Usage()
	return 2
}

// takeFlag removes -name VALUE, --name VALUE, -name=VALUE and --name=VALUE
// from args, setting *to: a flag of the command given after its
// sub-command.
func takeFlag(args []string, name string, to *string) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		switch {
		case a == args[i]: // not a flag
		case a == name:
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag needs an argument: -%s", name)
			}
			*to = args[i+1]
			i++
			continue
		case strings.HasPrefix(a, name+"="):
			*to = a[len(name)+1:]
			continue
		}
		out = append(out, args[i])
	}
	return out, nil
}

// cell is s as one table cell: what a back end wrote cannot move the
// cursor, end the row or split the column (control characters and tabs
// become '?'), and is cut at 40 characters; empty is "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || 0x80 <= r && r < 0xa0 {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return s
}
