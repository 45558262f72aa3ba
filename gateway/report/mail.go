package report

import (
	"archive/zip"
	"bytes"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/kopir/kopir/config/field"
)

// Incident is what one mail carries: the reports of one system failing in
// one way within the flood-control window. A single failure is an
// incident of one report.
type Incident struct {
	ID      string    `json:"id"`
	System  string    `json:"system"`
	Fault   string    `json:"fault"`
	Opened  time.Time `json:"opened"`
	Sealed  time.Time `json:"sealed"` // when its content was frozen: the mail's date
	Reports []*Report `json:"reports"`
	// RefusedCalls are the calls an open circuit breaker refused at once
	// while this failure lasted: the same outage, counted, not reported
	// one by one.
	RefusedCalls int64 `json:"refused_calls,omitempty"`
}

// MailOptions shape the mail. From, To and MaxEvidence are part of the
// reports section of Kopir's configuration file.
type MailOptions struct {
	// From is the sender address. Required.
	From string `yaml:"from"`
	// To are the desk's addresses. Default: [sd@nitec.kz].
	To []string `yaml:"to"`
	// Zone is the time zone times are shown in. Default: UTC+5, the
	// single time zone of Kazakhstan since 1 March 2024.
	Zone *time.Location `yaml:"-"`
	// MaxEvidence is how many reports of an incident get their evidence
	// attached; every report is listed with its items whatever the
	// number. Default: 20.
	MaxEvidence int `yaml:"max_evidence"`
	// Domain is the Message-ID's right-hand side. Default: From's domain.
	Domain string `yaml:"-"`
	// Names are the desk's names (kk, ru) of systems (shep, payments) and
	// of SHEP serviceIds, as mails show them. Default: DefaultNames.
	Names Names `yaml:"names"`
	// MaxMailBytes bounds a mail as sent: common relays refuse over 10 MB.
	// Half goes to the text, half to evidence; what does not fit stays in
	// Kopir, said in the mail. Default: 8 MiB.
	MaxMailBytes int `yaml:"max_mail_bytes"`
}

// Desk is the single support service the rules name.
const Desk = "sd@nitec.kz"

// SetDefaults fills To and MaxEvidence; Zone and Domain are filled where
// the mail is written.
func (o *MailOptions) SetDefaults() {
	if len(o.To) == 0 {
		o.To = []string{Desk}
	}
	if o.MaxEvidence == 0 {
		o.MaxEvidence = 20
	}
	if o.MaxMailBytes == 0 {
		o.MaxMailBytes = 8 << 20
	}
}

// Validate reports every problem, each named by its field.
func (o *MailOptions) Validate() error {
	var e field.Errors
	if o.MaxMailBytes != 0 && (o.MaxMailBytes < 64<<10 || o.MaxMailBytes > 64<<20) {
		e.Add("max_mail_bytes", "%d is not between 64 KiB and 64 MiB", o.MaxMailBytes)
	}
	address := func(f, a string) {
		if _, err := netmail.ParseAddress(a); err != nil {
			e.Add(f, "%q is not an e-mail address", a)
		}
	}
	if o.From == "" {
		e.Add("from", "required: the address failure reports come from")
	} else {
		address("from", o.From)
	}
	for i, a := range o.To {
		address(fmt.Sprintf("to[%d]", i), a)
	}
	if o.MaxEvidence < 1 {
		e.Add("max_evidence", "must be at least 1")
	}
	return e.Err()
}

// Kazakhstan is UTC+5 all year.
var Kazakhstan = time.FixedZone("UTC+5", 5*60*60)

// HeaderIncident names the incident a mail reports, for the desk's filters
// and for tests.
const HeaderIncident = "X-Kopir-Incident"

// MessageID is an incident mail's Message-ID without angle brackets. It
// depends only on the incident, so a resend is recognisable as one.
func MessageID(incidentID, domain string) string {
	return "incident-" + incidentID + "@" + domain
}

// Compose builds the incident's mail: the body gives each report's five
// items in Kazakh and Russian, flags missing ones, and names the system
// and the error; attached are each step as a PNG screenshot and as masked
// XML, and the back end's own screenshots.
func Compose(inc *Incident, o MailOptions) (*mail.Msg, error) {
	if len(inc.Reports) == 0 {
		return nil, fmt.Errorf("report: incident %s has no reports", inc.ID)
	}
	o.SetDefaults()
	if o.Zone == nil {
		o.Zone = Kazakhstan
	}
	if o.Domain == "" {
		o.Domain = "kopir.invalid"
		if i := strings.LastIndexByte(o.From, '@'); i >= 0 {
			o.Domain = strings.Trim(o.From[i+1:], "> ")
		}
	}
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(o.From); err != nil {
		return nil, fmt.Errorf("report: from: %w", err)
	}
	if err := m.To(o.To...); err != nil {
		return nil, fmt.Errorf("report: to: %w", err)
	}
	m.Subject(Subject(inc, o.Names))
	m.SetMessageIDWithValue(MessageID(inc.ID, o.Domain))
	m.SetDateWithValue(inc.Sealed)
	m.SetGenHeader(HeaderIncident, inc.ID)
	m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	// Evidence first, within half the budget, report by report (base64
	// makes 4 bytes of 3); the text says how far it goes.
	type file struct {
		name string
		ct   mail.ContentType
		data []byte
	}
	var files []file
	used, attached := 0, 0
	for i, r := range inc.Reports {
		if i >= o.MaxEvidence {
			break
		}
		var these []file
		size := 0
		for j, st := range r.Steps {
			prefix := fmt.Sprintf("r%d-step%d", i+1, j+1)
			img, err := Screenshot(st, j+1, len(r.Steps), o.Zone)
			if err != nil {
				return nil, err
			}
			these = append(these, file{prefix + ".png", "image/png", img})
			for _, b := range []struct{ name, text string }{{"request", st.Request}, {"response", st.Response}} {
				if b.text != "" {
					these = append(these, file{prefix + "-" + b.name + ".xml", "application/xml", []byte(b.text)})
				}
			}
		}
		for j, a := range r.Attachments {
			these = append(these, file{fmt.Sprintf("r%d-backend%d-%s", i+1, j+1, safeName(a.Name)), mail.ContentType(a.ContentType), a.Data})
		}
		for _, f := range these {
			size += encoded(len(f.data))
		}
		if used+size > o.MaxMailBytes/2 {
			break
		}
		used += size
		files = append(files, these...)
		attached++
	}
	// The rest of the evidence, compressed, while it fits: the steps'
	// XML of the reports past those attached.
	var bulk bytes.Buffer
	zipped := 0
	if attached < len(inc.Reports) {
		zw := zip.NewWriter(&bulk)
		room := o.MaxMailBytes/2 - used - 16<<10 // headers and boundaries
		for i := attached; i < len(inc.Reports); i++ {
			if err := zipSteps(zw, inc.Reports[i]); err != nil {
				return nil, err
			}
			zw.Flush()
			if encoded(bulk.Len()) > room {
				break
			}
			zipped = i + 1 - attached
		}
		zw.Close()
		if encoded(bulk.Len()) > room {
			// The last report tipped it over: again, without it.
			bulk.Reset()
			zw = zip.NewWriter(&bulk)
			for _, r := range inc.Reports[attached : attached+zipped] {
				if err := zipSteps(zw, r); err != nil {
					return nil, err
				}
			}
			zw.Close()
		}
	}
	text := o
	text.MaxEvidence = attached
	body := Body(inc, text)
	if zipped > 0 {
		body += fmt.Sprintf("\nҚалған %d есептің қадамдары (XML) / Шаги остальных %d отчётов (XML): evidence.zip\n", zipped, zipped)
		files = append(files, file{"evidence.zip", "application/zip", bulk.Bytes()})
	}
	m.SetBodyString(mail.TypeTextPlain, body)
	for _, f := range files {
		if err := attach(m, f.name, f.ct, f.data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// zipSteps adds a report's steps' XML to zw, under the report's id.
func zipSteps(zw *zip.Writer, r *Report) error {
	for j, st := range r.Steps {
		for _, b := range []struct{ name, text string }{{"request", st.Request}, {"response", st.Response}} {
			if b.text == "" {
				continue
			}
			f, err := zw.Create(fmt.Sprintf("%s/step%d-%s.xml", safeName(r.ID), j+1, b.name))
			if err != nil {
				return err
			}
			if _, err := f.Write([]byte(b.text)); err != nil {
				return err
			}
		}
	}
	return nil
}

// encoded is n bytes as an attachment's base64 lines (76 characters and a
// line break each), with its part's headers.
func encoded(n int) int { return n*4/3*78/76 + 512 }

func attach(m *mail.Msg, name string, ct mail.ContentType, data []byte) error {
	return m.AttachReader(name, bytes.NewReader(data), mail.WithFileContentType(ct))
}

// safeName keeps a file name to letters, digits, dot, dash and underscore.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "file"
	}
	return b.String()
}

// ServiceID is the SHEP serviceId every report of the incident shares,
// or "".
func (inc *Incident) ServiceID() string {
	if len(inc.Reports) == 0 {
		return ""
	}
	id := inc.Reports[0].ServiceID
	for _, r := range inc.Reports[1:] {
		if r.ServiceID != id {
			return ""
		}
	}
	return id
}

// Subject names the service and the application, or for an incident of
// many, the system and the count.
func Subject(inc *Incident, names Names) string {
	system := names.RU(inc.System)
	if sid := inc.ServiceID(); sid != "" {
		system = names.RU(sid) + " через " + system
	}
	what := faultNames[inc.Fault].RU
	if what == "" {
		what = inc.Fault
	}
	if len(inc.Reports) == 1 {
		r := inc.Reports[0]
		svc := r.App.ServiceName
		if svc == "" {
			svc = "қызмет көрсетілмеген / услуга не указана"
		}
		app := r.Application()
		if app == "" {
			app = "өтініш көрсетілмеген / заявление не указано"
		}
		return fmt.Sprintf("Ақау / Сбой: %s, %s — %s: %s", svc, app, system, what)
	}
	services := map[string]bool{}
	for _, r := range inc.Reports {
		services[r.App.ServiceName] = true
	}
	svc := ""
	if len(services) == 1 && inc.Reports[0].App.ServiceName != "" {
		svc = inc.Reports[0].App.ServiceName + ", "
	}
	return fmt.Sprintf("Ақау / Сбой: %s%d заявлений — %s: %s", svc, len(inc.Reports), system, what)
}

// fullItems is how many reports of an incident the text gives item by
// item; the rest take a line each.
const fullItems = 100

// Body is the mail's text.
func Body(inc *Incident, o MailOptions) string {
	zone, maxEvidence := o.Zone, o.MaxEvidence
	if zone == nil {
		zone = Kazakhstan
	}
	var b strings.Builder
	ts := func(t time.Time) string { return t.In(zone).Format("2006-01-02 15:04:05.000 -07:00") }
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Цифрлық жүйенің ақауы туралы хабарлама / Сообщение о сбое цифровой системы")
	p("")
	p("Инцидент: %s", inc.ID)
	p("Жүйе / Система: %s", o.Names.Of(inc.System))
	if sid := inc.ServiceID(); sid != "" {
		p("Қызмет / Сервис: %s (serviceId %s)", o.Names.Of(sid), sid)
	}
	p("Ақау түрі / Вид сбоя: %s", Fault(inc.Fault))
	p("Алғашқы есеп / Первый отчёт: %s", ts(inc.Opened))
	p("Өтініштер саны / Количество заявлений: %d", len(inc.Reports))
	if inc.RefusedCalls > 0 {
		p("Ақау кезінде жүйеге жіберілмей бірден қайтарылған тағы шақырулар / Ещё вызовов, сразу отклонённых без обращения к системе, пока длился сбой: %d",
			inc.RefusedCalls)
	}
	if len(inc.Reports) > maxEvidence {
		p("Дәлелдер алғашқы %d есепке ғана тіркелген; қалғандары Kopir-де сақтаулы (есеп ID бойынша).", maxEvidence)
		p("Доказательства приложены к первым %d отчётам; остальные хранятся в Kopir (по ID отчёта).", maxEvidence)
	}
	// The text's share of the mail, as sent: quoted-printable Cyrillic
	// takes three bytes for one.
	textBudget := o.MaxMailBytes / 2 / 3
	if textBudget <= 0 {
		textBudget = 8 << 20 / 6
	}
	for i, r := range inc.Reports {
		if b.Len() > textBudget {
			p("")
			p("… тағы %d өтініш Kopir-де сақтаулы / ещё %d заявлений хранятся в Kopir (kopir reports list; инцидент %s).",
				len(inc.Reports)-i, len(inc.Reports)-i, inc.ID)
			break
		}
		if i >= fullItems {
			// Past the first hundred: each application on one line, its
			// items in order, so that none is left out of the mail.
			if i == fullItems {
				p("")
				p("──── %d–%d ──── 1 қызмет; 2 өтініш; 3 ЖСН/БСН; 4 уақыт / 1 услуга; 2 заявление; 3 ИИН/БИН; 4 время", i+1, len(inc.Reports))
			}
			item := func(v string) string {
				if v == "" {
					return "!!! —"
				}
				return v
			}
			when := ""
			if d, ok := r.Elapsed(); ok {
				when = fmt.Sprintf("%s (+%s)", ts(r.ErrorAt), d.Round(time.Millisecond))
			}
			p("%d. %s; %s; %s; %s [%s]", i+1, item(r.App.ServiceName), item(r.Application()), item(r.App.RecipientID), item(when), r.ID)
			continue
		}
		p("")
		p("──── %d / %d ──── есеп / отчёт %s (%s)", i+1, len(inc.Reports), r.ID, r.Source)
		missing := map[Item]bool{}
		for _, it := range r.Missing() {
			missing[it] = true
		}
		val := func(it Item, v string) {
			if missing[it] {
				v = "!!! КӨРСЕТІЛМЕГЕН / НЕ УКАЗАНО !!!"
				if it == ItemTime && !r.ErrorAt.IsZero() {
					v = "!!! авторизация сәті көрсетілмеген / момент авторизации не указан !!! Қате уақыты / время ошибки: " + ts(r.ErrorAt)
				}
			}
			p("%d. %s:\n   %s", int(it), it, v)
		}
		val(ItemService, r.App.ServiceName)
		val(ItemApplication, r.Application())
		val(ItemRecipient, r.App.RecipientID)
		when := ""
		if d, ok := r.Elapsed(); ok {
			when = fmt.Sprintf("%s (авторизация %s; +%s)", ts(r.ErrorAt), ts(r.App.AuthorizedAt), d.Round(time.Millisecond))
		}
		val(ItemTime, when)
		var ev []string
		for j, s := range r.Steps {
			status := ""
			if s.HTTPStatus != 0 {
				status = fmt.Sprintf(" HTTP %d", s.HTTPStatus)
			}
			line := fmt.Sprintf("%d) %s %s %s%s %s, %s", j+1, ts(s.Time), s.Upstream, s.ServiceID, status, s.Outcome, s.Duration.Round(time.Millisecond))
			if i < maxEvidence {
				line += fmt.Sprintf(" [r%d-step%d.png]", i+1, j+1)
			}
			ev = append(ev, line)
		}
		for j, n := range r.Notes {
			t := ""
			if !n.Time.IsZero() {
				t = ts(n.Time) + " "
			}
			ev = append(ev, fmt.Sprintf("%d) %s%s", len(r.Steps)+j+1, t, n.Text))
		}
		for j, a := range r.Attachments {
			if i < maxEvidence {
				ev = append(ev, fmt.Sprintf("скриншот: r%d-backend%d-%s", i+1, j+1, safeName(a.Name)))
			}
		}
		val(ItemEvidence, strings.Join(ev, "\n   "))
		if r.Fault != "" {
			p("Қате / Ошибка: %s", Fault(r.Fault))
		}
		if r.Error != "" {
			p("Техникалық мәлімет / Технические подробности (EN): %s", r.Error)
		}
		if r.ServiceID != "" {
			p("SHEP serviceId: %s; messageId: %s", r.ServiceID, r.MessageID)
		}
		if len(missing) > 0 {
			var names []string
			for _, it := range Items {
				if missing[it] {
					names = append(names, fmt.Sprint(int(it)))
				}
			}
			p("НАЗАР АУДАРЫҢЫЗ: міндетті тармақтар жоқ / ВНИМАНИЕ: нет обязательных пунктов: %s", strings.Join(names, ", "))
		}
	}
	p("")
	p("— Kopir (автоматты хабарлама / автоматическое сообщение)")
	return b.String()
}
