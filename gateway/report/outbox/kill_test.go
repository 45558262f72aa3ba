package outbox

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/internal/reporttest"
	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

// TestHelperDeliverer is the process TestKillDuringDelivery kills: it runs
// an outbox's delivery loop and nothing else.
func TestHelperDeliverer(t *testing.T) {
	path, addr := os.Getenv("KOPIR_TEST_OUTBOX"), os.Getenv("KOPIR_TEST_SMTP")
	if path == "" {
		t.Skip("a helper process for TestKillDuringDelivery")
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	sender, err := NewSMTP(SMTPConfig{Host: host, Port: p, TLS: TLSNone, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := Open(context.Background(), path, sender, Options{Poll: 50 * time.Millisecond, Config: Config{MailOptions: mailOptions}})
	if err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
}

// TestKillDuringDelivery: a process killed with SIGKILL while it is
// handing a report to the relay loses nothing; after a restart the report
// arrives, once.
func TestKillDuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dataStarted := make(chan struct{}, 10)
	mb := mailboxmock.New(mailboxmock.Options{OnData: func() { dataStarted <- struct{}{} }})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go mb.Serve(l)
	defer mb.Close()
	// The first delivery stalls before the relay has read the mail.
	mb.Inject(mailboxmock.Fault{Kind: "delay", Delay: shepmock.Duration(3 * time.Second), Count: 1})

	path := filepath.Join(t.TempDir(), "outbox.db")
	ob, err := Open(context.Background(), path, nil, Options{Config: Config{MailOptions: mailOptions}})
	if err != nil {
		t.Fatal(err)
	}
	r := sample("shep", "timeout", "KZ-LIC-2026-00042")
	if _, err := ob.Accept(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	ob.Close()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDeliverer$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KOPIR_TEST_OUTBOX="+path, "KOPIR_TEST_SMTP="+l.Addr().String())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start()
	select {
	case <-dataStarted:
	case <-time.After(30 * time.Second):
		first.Process.Kill()
		t.Fatal("the first process never started delivering")
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if n := len(mb.Messages()); n != 0 {
		t.Fatalf("%d mails before the restart", n)
	}

	second := start()
	defer func() { second.Process.Kill(); second.Wait() }()
	waitMail(t, mb, 1)
	time.Sleep(500 * time.Millisecond) // a duplicate would come now
	msgs := mb.Messages()
	if len(msgs) != 1 || msgs[0].Resend {
		t.Fatalf("mails = %+v, want exactly one", msgs)
	}
	_, text, _ := reporttest.Read(t, msgs[0].Raw)
	if !contains(text, "KZ-LIC-2026-00042") {
		t.Errorf("the mail does not carry the report:\n%s", text)
	}
	second.Process.Kill()
	second.Wait()
	ob, err = Open(context.Background(), path, nil, Options{Config: Config{MailOptions: mailOptions}})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if e, err := ob.Get(context.Background(), r.ID); err != nil || e.State != StateDelivered {
		t.Fatalf("after delivery: %+v, %v", e, err)
	}
}
