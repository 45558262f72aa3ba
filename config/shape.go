package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kopir/kopir/config/field"
)

// shape walks the YAML document alongside the type it decodes into and
// reports every key that names no field (with the field it may have
// meant) and every value its field's type cannot take, each by its path
// and in the operator's words — where the YAML decoder would say "line 2:
// cannot unmarshal !!str `soon` into time.Duration".
func shape(n *yaml.Node, t reflect.Type, path string, e *field.Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			shape(c, t, path, e)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == 0 || n.Tag == "!!null" {
		return
	}
	// A type that decodes itself (Secret, Layout, Part…) is tried whole.
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) || t == reflect.TypeFor[time.Duration]() ||
		t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice {
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			e.Add(path, "%s", explain(n, t, err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			e.Add(path, "a section (key: value lines) is expected here, not %q", n.Value)
			return
		}
		fields := map[string]reflect.Type{}
		collect(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				e.Add(join(path, k.Value), "unknown key%s", suggest(k.Value, fields))
				continue
			}
			if k.Value == "port" && v.Value == "0" {
				// 0 would quietly take a default: said, not taken.
				e.Add(join(path, k.Value), "0 is not a port (leave the key out for the default)")
				continue
			}
			shape(v, ft, join(path, k.Value), e)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			e.Add(path, "key: value lines are expected here, not %q", n.Value)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if err := k.Decode(reflect.New(t.Key()).Interface()); err != nil {
				e.Add(join(path, k.Value), "%s", explain(k, t.Key(), err))
				continue
			}
			shape(v, t.Elem(), join(path, k.Value), e)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			// A scalar where a list is expected: the decoder refuses it.
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				e.Add(path, "a list ([a, b] or - lines) is expected here, not %q", n.Value)
			}
			return
		}
		for i, c := range n.Content {
			shape(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), e)
		}
	}
}

// collect maps t's YAML keys to their types, inline fields included.
func collect(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		switch {
		case len(tag) > 1 && tag[1] == "inline":
			collect(f.Type, into)
		case tag[0] == "-" || !f.IsExported():
		case tag[0] != "":
			into[tag[0]] = f.Type
		default:
			into[strings.ToLower(f.Name)] = f.Type
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// explain says why value cannot be a t.
func explain(n *yaml.Node, t reflect.Type, err error) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return fmt.Sprintf("%q is not a duration (like 500ms, 10s, 1m30s, 2h)", n.Value)
	case t.Kind() == reflect.Bool:
		return fmt.Sprintf("%q is not true or false", n.Value)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return fmt.Sprintf("%q is not a whole number", n.Value)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); strings.HasPrefix(msg, "yaml:") && i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// suggest names the known key closest to key, when one is close.
func suggest(key string, fields map[string]reflect.Type) string {
	best, dist := "", 3
	for k := range fields {
		if d := distance(key, k); d < dist || d == dist && best != "" && k < best {
			best, dist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
