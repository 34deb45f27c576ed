package spec

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Error is one problem with a spec file, located as precisely as the
// decoder can tell. Line and Column are 1-based; 0 means unknown.
type Error struct {
	File   string
	Line   int
	Column int
	// Field is the path of the offending field, e.g. spec.mounts[0].hostPath;
	// empty for problems with the file as a whole (YAML syntax, I/O).
	Field string
	// Message says what is wrong and how to fix it.
	Message string

	// limit marks a bound the file hit (too many documents or values):
	// always reported, even past maxErrorsPerFile problems.
	limit bool
	// syntax marks the YAML syntax error that ended the file's parse (see
	// LocateSyntax).
	syntax bool
}

// Error formats e as "file:line:col: field.path: message", the form
// editors and CI systems turn into annotations. Unknown parts are left out
// rather than printed as zero.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// FormatErrors is the multierror.ErrorFormatFunc of the errors this
// package returns: one error per line, no header, no bullets, so each line
// is a "file:line:col: field: message" annotation.
func FormatErrors(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems in err, a *multierror.Error or a single
// error, as *Error values in the order err holds them. An error that is not
// an *Error becomes one with only its Message set. Errors(nil) is nil.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var errs []error
	var me *multierror.Error
	if errors.As(err, &me) {
		errs = me.Errors
	} else {
		errs = []error{err}
	}
	out := make([]*Error, 0, len(errs))
	for _, e := range errs {
		var se *Error
		if errors.As(e, &se) {
			out = append(out, se)
		} else {
			out = append(out, &Error{Message: e.Error()})
		}
	}
	return out
}

// JoinErrors sorts errs by position (file, line, column; stable) and
// returns them as one *multierror.Error formatted by FormatErrors, the form
// in which Parse and DecodeFile return problems, or nil when there are
// none. Past maxErrorsPerFile problems, the rest are counted in one last
// problem.
func JoinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	if len(errs) > maxErrorsPerFile {
		var limits []*Error
		for _, e := range errs[maxErrorsPerFile:] {
			if e.limit {
				limits = append(limits, e)
			}
		}
		more := errs[maxErrorsPerFile]
		n := len(errs) - maxErrorsPerFile - len(limits)
		errs = append(errs[:maxErrorsPerFile:maxErrorsPerFile], &Error{File: more.File, Line: more.Line, Column: more.Column,
			Message: fmt.Sprintf("and %d more problems from here on; fix these first", n)})
		errs = append(errs, limits...)
	}
	return multiError(errs)
}

// sortErrors sorts errs by position: file, line, column; stable.
func sortErrors(errs []*Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func multiError(errs []*Error) *multierror.Error {
	me := &multierror.Error{ErrorFormat: FormatErrors}
	for _, e := range errs {
		me.Errors = append(me.Errors, e)
	}
	return me
}
