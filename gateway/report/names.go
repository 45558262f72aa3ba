package report

import "fmt"

// Name is what the desk calls something, in Kazakh and Russian.
type Name struct {
	KK string `yaml:"kk"`
	RU string `yaml:"ru"`
}

func (n Name) String() string {
	switch {
	case n.KK == "" || n.KK == n.RU:
		return n.RU
	case n.RU == "":
		return n.KK
	}
	return n.KK + " / " + n.RU
}

// DefaultNames are the desk's names of the systems Kopir talks to and of
// the state services it calls, by Kopir's system name and by SHEP
// serviceId. Configuration (reports.names) adds to them or replaces them.
var DefaultNames = map[string]Name{
	"shep":                       {"Электрондық үкімет шлюзі (ЭҮШ, Smart Bridge)", "Шлюз электронного правительства (ШЭП, Smart Bridge)"},
	"payments":                   {"Электрондық үкіметтің төлем шлюзі (ЭҮТШ)", "Платёжный шлюз электронного правительства (ПШЭП)"},
	"GbdulInfoByBin_v2":          {"Заңды тұлғалар мемлекеттік деректер қоры (ЗТ МДҚ)", "Государственная база данных «Юридические лица» (ГБД ЮЛ)"},
	"GBDFL_UniversalServiceSync": {"Жеке тұлғалар мемлекеттік деректер қоры (ЖТ МДҚ)", "Государственная база данных «Физические лица» (ГБД ФЛ)"},
	"GBDFLUniversal_token":       {"Жеке тұлғалар мемлекеттік деректер қоры (ЖТ МДҚ), келісіммен", "Государственная база данных «Физические лица» (ГБД ФЛ), по согласию"},
	"KDP_SERVICE":                {"Дербес деректерге қол жеткізу сервисі (ДДҚС)", "Сервис доступа к персональным данным (СДПД)"},
}

// faultNames are the desk's words for how an exchange failed.
var faultNames = map[string]Name{
	"timeout":      {"жүйе уақытында жауап бермеді", "система не ответила вовремя"},
	"transport":    {"жүйемен байланыс жоқ", "нет связи с системой"},
	"http_status":  {"жүйе HTTP қатесімен жауап берді", "система ответила ошибкой HTTP"},
	"fault":        {"жүйе қатемен жауап берді (SOAP Fault)", "система ответила ошибкой (SOAP Fault)"},
	"status":       {"жүйе қате мәртебемен жауап берді", "система ответила статусом ошибки"},
	"signature":    {"жауаптың қолтаңбасы тексерілмеді", "подпись ответа не прошла проверку"},
	"malformed":    {"жауап оқылмайды", "ответ не читается"},
	"unbound":      {"жауап басқа сұрауға берілген", "ответ относится к другому запросу"},
	"replay":       {"бұрынғы жауап қайта жіберілді", "повторно прислан прежний ответ"},
	"breaker_open": {"жүйе істен шыққан, шақырулар уақытша жіберілмейді", "система недоступна, вызовы временно не отправляются"},
}

// Names are the display names a mail uses; empty fields fall back to
// DefaultNames, then to the name itself.
type Names map[string]Name

// Of is the desk's name of a system or service id.
func (ns Names) Of(id string) string {
	if n, ok := ns[id]; ok && (n.KK != "" || n.RU != "") {
		return n.String()
	}
	if n, ok := DefaultNames[id]; ok {
		return n.String()
	}
	return id
}

// RU is the Russian name alone (the Kazakh one when there is none), for
// a subject line short enough to triage.
func (ns Names) RU(id string) string {
	n, ok := ns[id]
	if !ok || n.KK == "" && n.RU == "" {
		if n, ok = DefaultNames[id]; !ok {
			return id
		}
	}
	if n.RU != "" {
		return n.RU
	}
	return n.KK
}

// Fault is the desk's words for a fault, with Kopir's code after them.
func Fault(code string) string {
	if n, ok := faultNames[code]; ok {
		return fmt.Sprintf("%s [%s]", n, code)
	}
	return code
}
