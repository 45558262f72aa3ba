package report

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/sfnt"

	"github.com/kopir/kopir/gateway/internal/reporttest"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func failedRecord() *exchange.Record {
	return &exchange.Record{
		System: "shep", ServiceID: "GBDFL_UniversalServiceSync", MessageID: "m-1", Outcome: exchange.OutcomeFault,
		SystemFailure: true, Error: "SOAP fault E_DB: database down", Started: t0, Duration: 900 * time.Millisecond,
		App: &exchange.AppContext{ServiceName: "Импорт лицензиясы", ApplicationID: "KZ-LIC-2026-00017",
			RecipientID: "880101300010", AuthorizedAt: t0.Add(-2 * time.Minute)},
		Steps: []exchange.Step{
			{Attempt: 1, Time: t0, Upstream: "http://shep.test/", ServiceID: "GBDFL_UniversalServiceSync", MessageID: "m-1",
				HTTPStatus: 503, Duration: 300 * time.Millisecond, Outcome: exchange.OutcomeHTTP, Error: "HTTP 503",
				Request: `<SendMessage><request><requestData><data><iin>********0010</iin></data></requestData></request></SendMessage>`},
			{Attempt: 2, Time: t0.Add(400 * time.Millisecond), Upstream: "http://shep.test/", ServiceID: "GBDFL_UniversalServiceSync",
				MessageID: "m-1", HTTPStatus: 500, Duration: 500 * time.Millisecond, Outcome: exchange.OutcomeFault,
				Error:    "SOAP fault E_DB: database down",
				Request:  `<SendMessage><request><requestData><data><iin>********0010</iin></data></requestData></request></SendMessage>`,
				Response: `<Fault><faultcode>Server</faultcode><faultstring>database down</faultstring></Fault>`},
		},
	}
}

func TestFromRecord(t *testing.T) {
	r := FromRecord(failedRecord())
	// The first failed attempt's end (a 503 at 300 ms), not the last
	// retry's (900 ms): when the applicant's service broke.
	if want := t0.Add(300 * time.Millisecond); !r.ErrorAt.Equal(want) {
		t.Errorf("ErrorAt = %v, want the end of the first failed step %v", r.ErrorAt, want)
	}
	if d, ok := r.Elapsed(); !ok || d != 2*time.Minute+300*time.Millisecond {
		t.Errorf("Elapsed = %v %v", d, ok)
	}
	if r.System != "shep" || r.Fault != "fault" || len(r.Steps) != 2 || r.App.RecipientID != "880101300010" {
		t.Errorf("report = %+v", r)
	}
	if m := r.Missing(); len(m) != 0 {
		t.Errorf("Missing = %v, want none", m)
	}
}

func TestMissing(t *testing.T) {
	full := FromRecord(failedRecord())
	for _, tc := range []struct {
		name   string
		change func(*Report)
		want   []Item
	}{
		{"complete", func(*Report) {}, nil},
		{"no service", func(r *Report) { r.App.ServiceName = " " }, []Item{ItemService}},
		{"admin doc number and code stand for the application", func(r *Report) {
			r.App.ApplicationID, r.App.AdminDocNumber, r.App.AdminDocCode = "", "17", "ИМП"
		}, nil},
		{"a number without a code is not enough", func(r *Report) { r.App.ApplicationID, r.App.AdminDocNumber = "", "17" }, []Item{ItemApplication}},
		{"permit id stands for the application", func(r *Report) { r.App.ApplicationID, r.App.PermitID = "", "P-1" }, nil},
		{"no recipient", func(r *Report) { r.App.RecipientID = "" }, []Item{ItemRecipient}},
		{"no authorisation", func(r *Report) { r.App.AuthorizedAt = time.Time{} }, []Item{ItemTime}},
		{"no evidence", func(r *Report) { r.Steps = nil }, []Item{ItemEvidence}},
		{"a note is evidence", func(r *Report) { r.Steps, r.Notes = nil, []Note{{Text: "clicked submit"}} }, nil},
		{"nothing", func(r *Report) { r.App, r.Steps = exchange.AppContext{}, nil }, Items},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *full
			tc.change(&r)
			if got := r.Missing(); !slices.Equal(got, tc.want) {
				t.Errorf("Missing = %v, want %v", got, tc.want)
			}
		})
	}
}

func incident(n int) *Incident {
	inc := &Incident{ID: "inc-1", System: "shep", Fault: "fault", Opened: t0, Sealed: t0.Add(time.Second)}
	for i := range n {
		r := FromRecord(failedRecord())
		r.ID = "rep-" + string(rune('a'+i))
		r.Received = t0
		inc.Reports = append(inc.Reports, r)
	}
	return inc
}

func TestBodyGolden(t *testing.T) {
	inc := incident(2)
	inc.Reports[1].App.RecipientID = ""
	inc.Reports[1].App.AuthorizedAt = time.Time{}
	got := Body(inc, MailOptions{Zone: Kazakhstan, MaxEvidence: 1})
	path := filepath.Join("testdata", "incident.golden.txt")
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("body differs from %s (go test -update to accept):\n%s", path, got)
	}
	for _, s := range []string{"880101300010", "13:00:00.300 +05:00 (авторизация 2026-11-25 12:58:00.000 +05:00; +2m0.3s)", "Импорт лицензиясы", "KZ-LIC-2026-00017",
		"ВНИМАНИЕ: нет обязательных пунктов: 3, 4", "r1-step2.png"} {
		if !strings.Contains(got, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	if strings.Contains(got, "r2-step1.png") {
		t.Error("evidence beyond MaxEvidence is named as attached")
	}
}

func TestCompose(t *testing.T) {
	inc := incident(3)
	inc.Reports[0].Attachments = []Attachment{{Name: "экран 1.png", ContentType: "image/png", Data: mustShot(t)}}
	m, err := Compose(inc, MailOptions{From: "kopir@licensing.example.kz", To: []string{"sd@nitec.kz"}, MaxEvidence: 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	msg, text, files := reporttest.Read(t, buf.Bytes())
	if got := msg.Header.Get("Message-Id"); got != "<incident-inc-1@licensing.example.kz>" {
		t.Errorf("Message-ID = %q", got)
	}
	if got := msg.Header.Get(HeaderIncident); got != "inc-1" {
		t.Errorf("%s = %q", HeaderIncident, got)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(subj, "3 заявлений — Государственная база данных «Физические лица» (ГБД ФЛ) через") ||
		!strings.Contains(subj, "Шлюз электронного правительства (ШЭП, Smart Bridge): система ответила ошибкой (SOAP Fault)") || strings.Contains(subj, "shep") {
		t.Errorf("Subject = %q (%v)", subj, err)
	}
	if to := msg.Header.Get("To"); !strings.Contains(to, "sd@nitec.kz") {
		t.Errorf("To = %q", to)
	}
	if !strings.Contains(text, "Өтініштер саны / Количество заявлений: 3") || strings.Count(text, "KZ-LIC-2026-00017") != 3 {
		t.Errorf("text does not list every application:\n%s", text)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	// The third report's evidence, past max_evidence, travels compressed.
	want := []string{"evidence.zip", "r1-backend1-______1.png", "r1-step1-request.xml", "r1-step1.png", "r1-step2-request.xml", "r1-step2-response.xml", "r1-step2.png",
		"r2-step1-request.xml", "r2-step1.png", "r2-step2-request.xml", "r2-step2-response.xml", "r2-step2.png"}
	if !slices.Equal(names, want) {
		t.Errorf("attachments = %v\nwant %v", names, want)
	}
	if zr, err := zip.NewReader(bytes.NewReader(files["evidence.zip"]), int64(len(files["evidence.zip"]))); err != nil ||
		len(zr.File) == 0 || !strings.HasPrefix(zr.File[0].Name, "rep-c/") {
		t.Errorf("evidence.zip: %v", err)
	}
	for n, b := range files {
		if strings.HasSuffix(n, ".png") {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}
	}
	if got := string(files["r1-step2-response.xml"]); got != inc.Reports[0].Steps[1].Response {
		t.Errorf("response XML = %q", got)
	}
}

func TestComposeEmpty(t *testing.T) {
	if _, err := Compose(&Incident{ID: "x"}, MailOptions{From: "a@b.kz", To: []string{"sd@nitec.kz"}}); err == nil {
		t.Error("an incident without reports composed")
	}
}

func mustShot(t *testing.T) []byte {
	t.Helper()
	b, err := Screenshot(failedRecord().Steps[1], 2, 2, Kazakhstan)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScreenshot(t *testing.T) {
	step := failedRecord().Steps[1]
	b := mustShot(t)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	lines := StepLines(step, 2, 2, Kazakhstan)
	if lines[0] != "Kopir · step 2 of 2 · fault" || !slices.Contains(lines, "HTTP      500") ||
		!slices.Contains(lines, "time      2026-11-25 13:00:00.400 +05:00") || !slices.Contains(lines, "  <faultstring>database down</faultstring>") {
		t.Errorf("lines = %q", lines)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 800 || bounds.Dy() < 16*len(lines) {
		t.Errorf("image %v too small for %d lines", bounds, len(lines))
	}
	// Each text line leaves ink: count rows holding dark pixels in the
	// body (below the title bar) and expect text on most line heights.
	inked := 0
	for y := bounds.Min.Y + 40; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0x4000 && g < 0x4000 && bl < 0x4000 {
				inked++
				break
			}
		}
	}
	if inked < 5*(len(lines)-3) {
		t.Errorf("only %d rows of ink for %d lines", inked, len(lines))
	}
	// The title bar of a failed step is red.
	if r, g, _, _ := img.At(2, 14).RGBA(); r < 0x9000 || g > 0x3000 {
		t.Errorf("title bar colour at (2,14) = %v", img.At(2, 14))
	}
}

func TestScreenshotLongBody(t *testing.T) {
	step := failedRecord().Steps[1]
	step.Response = "<a>" + strings.Repeat("<b>x</b>", 500) + "</a>"
	lines := StepLines(step, 1, 1, nil)
	if !slices.Contains(lines, "… (excerpt; the whole body is attached as XML)") {
		t.Error("a long body is not cut to an excerpt")
	}
	if len(lines) > 2*shotMaxLines+20 {
		t.Errorf("%d lines", len(lines))
	}
	if _, err := Screenshot(step, 1, 1, nil); err != nil {
		t.Fatal(err)
	}
}

// TestScreenshotFoldsSecurity: the signature header is folded so that the
// excerpt shows the Body; the XML attachment keeps everything.
func TestScreenshotFoldsSecurity(t *testing.T) {
	step := failedRecord().Steps[0]
	step.Request = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>` +
		`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
		strings.Repeat(`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>`, 40) +
		`</wsse:Security></s:Header><s:Body><getPerson><iin>********0010</iin></getPerson></s:Body></s:Envelope>`
	lines := strings.Join(StepLines(step, 1, 1, Kazakhstan), "\n")
	if strings.Contains(lines, "SignatureValue") || !strings.Contains(lines, "transport signature") ||
		!strings.Contains(lines, "<iin>********0010</iin>") || strings.Contains(lines, "excerpt") {
		t.Errorf("lines:\n%s", lines)
	}
	// A look-alike in another namespace is not folded.
	step.Request = strings.ReplaceAll(step.Request, "oasis-200401-wss-wssecurity-secext-1.0.xsd", "urn:not-wss")
	if lines := strings.Join(StepLines(step, 1, 1, Kazakhstan), "\n"); !strings.Contains(lines, "SignatureValue") {
		t.Error("a Security element outside WS-Security was folded")
	}
}

// TestFontCoversKazakh: every letter of the Kazakh alphabet, and the
// characters step screenshots draw, have a glyph (0 is the empty box).
func TestFontCoversKazakh(t *testing.T) {
	f, err := sfnt.Parse(monoTTF)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	const alphabet = "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ"
	for _, r := range alphabet + strings.ToLower(alphabet) + "«»—…·№*<>/=\"':" {
		if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
			t.Errorf("no glyph for %q", r)
		}
	}
}

// TestMailSizeBounded: an outage's incident of 9,000 reports (30 s of
// SHEP down once made a 41 MB mail) is mailed within max_mail_bytes,
// every application still named, what does not fit said to be in Kopir.
func TestMailSizeBounded(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 200<<10)
	inc := &Incident{ID: "inc-big", System: "shep", Fault: "fault", Opened: t0, Sealed: t0.Add(time.Minute)}
	for i := range 9000 {
		r := FromRecord(failedRecord())
		r.ID = fmt.Sprintf("rep-%05d", i)
		r.App.ApplicationID = fmt.Sprintf("KZ-LIC-2026-%05d", i)
		r.Attachments = []Attachment{{Name: "s.png", ContentType: "image/png", Data: big}}
		inc.Reports = append(inc.Reports, r)
	}
	for _, limit := range []int{8 << 20, 1 << 20} {
		m, err := Compose(inc, MailOptions{From: "kopir@licensing.example.kz", MaxMailBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > limit {
			t.Errorf("limit %d: the mail is %d bytes", limit, buf.Len())
		}
		_, text, _ := reporttest.Read(t, buf.Bytes())
		// Every application is named, or the mail says where the rest are.
		if !strings.Contains(text, "KZ-LIC-2026-00000") || !strings.Contains(text, "KZ-LIC-2026-08999") && !strings.Contains(text, "хранятся в Kopir") {
			t.Errorf("limit %d: the text hides what it left out", limit)
		}
		if limit == 8<<20 && (!strings.Contains(text, "KZ-LIC-2026-00150") || !strings.Contains(text, "evidence.zip")) {
			t.Errorf("8 MiB: the one-line listing past the first hundred, or the compressed evidence, is missing")
		}
	}
}
