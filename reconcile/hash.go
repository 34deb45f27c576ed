package reconcile

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/driver"
)

// hashVersion prefixes the hashed bytes. Bump it only when the canonical
// form itself changes; every container is recreated when it does.
const hashVersion = "v1:"

// Hash returns the config hash of cfg: a hex SHA-256 over a canonical,
// versioned encoding of everything that shapes the container (its effective
// isolation included). ID, Owner, Hash and Labels do not count: they name
// or describe the container without changing it.
//
// The encoding leaves out zero values (empty strings and slices, nil maps,
// false, 0) and sorts fields by name and map keys, so adding an optional
// field to driver.Config changes no existing hash as long as it is zero.
// A value that marshals itself as text (encoding.TextMarshaler: an image
// reference, a Windows path) is written as that text, exactly as the
// string it replaced, and left out when it is its type's zero value, whose
// text is empty; so typing a field changes no hash either.
func Hash(cfg driver.Config) string {
	cfg.ID, cfg.Owner, cfg.Hash, cfg.Labels = "", "", "", nil
	return hashOf(cfg)
}

func hashOf(v any) string {
	var e encoder
	e.WriteString(hashVersion)
	// An addressable copy, so that values that marshal themselves as text
	// can be asked through a pointer, without boxing each one.
	root := reflect.New(reflect.TypeOf(v)).Elem()
	root.Set(reflect.ValueOf(v))
	e.encode(root)
	sum := sha256.Sum256([]byte(e.String()))
	return hex.EncodeToString(sum[:])
}

// encoder builds the canonical form; text is scratch space for values that
// append themselves as text.
type encoder struct {
	strings.Builder
	text []byte
}

// DefaultOwner is the owner tag of an agent that is given none.
const DefaultOwner = "isoagent"

// ContainerID returns the host ID of owner's container for a spec name and
// config hash. For DefaultOwner it is "<name>-<first 12 hex digits of the
// hash>", as it always was, so that containers created before the owner
// was part of the ID keep theirs. For any other owner the 12 digits are of
// a hash of the owner and the config hash, so that two owners running the
// same spec on one host never compute the same ID. A recreated container
// gets a new ID, so it never collides with the old one being removed.
func ContainerID(owner, name, hash string) string {
	if owner != DefaultOwner && owner != "" {
		sum := sha256.Sum256([]byte("owner\x00" + owner + "\x00" + hash))
		hash = hex.EncodeToString(sum[:])
	}
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return name + "-" + hash
}

// encode writes the canonical form of v. Callers only pass values that are
// not zero (see isEmpty), except for the top level.
func (e *encoder) encode(v reflect.Value) {
	b := &e.Builder
	if e.appendText(v) {
		writeQuoted(b, e.text)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		fields := make(map[string]reflect.Value)
		structFields(v, fields)
		names := make([]string, 0, len(fields))
		for n := range fields {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteByte('{')
		for _, n := range names {
			writeQuoted(b, n)
			b.WriteByte(':')
			e.encode(fields[n])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		b.WriteByte('<')
		for _, k := range keys {
			e.encode(k)
			b.WriteByte(':')
			e.encode(v.MapIndex(k))
			b.WriteByte(',')
		}
		b.WriteByte('>')
	case reflect.Slice, reflect.Array:
		b.WriteByte('[')
		for i := range v.Len() {
			e.encode(v.Index(i))
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return
		}
		e.encode(v.Elem())
	case reflect.String:
		writeQuoted(b, v.String())
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	default:
		// Floats, funcs and channels have no place in a container config;
		// a field of such a type is a programming error caught by the tests.
		panic(fmt.Sprintf("reconcile: cannot hash a %s", v.Type()))
	}
}

// structFields collects the exported, non-empty fields of v by name,
// flattening embedded structs the way encoding/json does, so a type that
// embeds a config and adds zero-valued fields hashes like the config.
func structFields(v reflect.Value, into map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous && fv.Kind() == reflect.Struct && !isText(fv.Type()) {
			structFields(fv, into)
			continue
		}
		if isEmpty(fv) {
			continue
		}
		into[f.Name] = fv
	}
}

// isEmpty reports whether v adds nothing to a hash: the zero value, an empty
// slice or map, or a struct whose fields are all empty.
func isEmpty(v reflect.Value) bool {
	if isText(v.Type()) {
		// Not marshalled: the zero value is what writes empty text.
		return v.IsZero()
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !isEmpty(v.Field(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero()
}

var textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()

// isText reports whether values of t marshal themselves as text. Most
// types in a config have no methods, which is quick to tell.
func isText(t reflect.Type) bool {
	return t.NumMethod() > 0 && t.Implements(textMarshalerType)
}

// appendText puts the text of v into e.text and reports true when v's type
// marshals itself as text. It asks through encoding.TextAppender where the
// type has it, into e.text, so that hashing does not allocate per value.
func (e *encoder) appendText(v reflect.Value) bool {
	if !isText(v.Type()) || !v.CanInterface() {
		return false
	}
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return false
	}
	m := v.Interface
	if v.CanAddr() {
		m = v.Addr().Interface
	}
	var err error
	switch t := m().(type) {
	case encoding.TextAppender:
		e.text, err = t.AppendText(e.text[:0])
	case encoding.TextMarshaler:
		e.text, err = t.MarshalText()
	}
	if err != nil {
		// The types in a config marshal infallibly; one that cannot is a
		// programming error caught by the tests, like an unhashable kind.
		panic(fmt.Sprintf("reconcile: cannot hash a %s: %v", v.Type(), err))
	}
	return true
}

// writeQuoted writes strconv.Quote(s) to b. Config strings are nearly all
// printable ASCII, which Quote writes as they are with '"' and '\\'
// escaped; writing those straight into b saves an allocation per value.
// Anything else goes through strconv.Quote itself.
func writeQuoted[T string | []byte](b *strings.Builder, s T) {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e {
			b.WriteString(strconv.Quote(string(s)))
			return
		}
	}
	b.WriteByte('"')
	for i := range len(s) {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
