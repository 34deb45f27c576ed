package kube_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	admv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// perCallLimit is Kubernetes' cost limit of one CEL expression of an
// admission policy (apiserver's celconfig.PerCallLimit).
const perCallLimit = 1000000

// vap is a ValidatingAdmissionPolicy compiled with cel-go, the library
// Kubernetes evaluates it with, in an environment like the API server's:
// object and oldObject as the admitted objects, variables evaluated in
// order, Kubernetes' string extensions, and its cost limit per
// expression.
type vap struct {
	vars  []compiled
	valid []compiledValidation
}

type compiled struct {
	name string
	prg  cel.Program
}

type compiledValidation struct {
	expr, msg cel.Program
	message   string
}

func celEnv(t testing.TB) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(ext.StringsVersion(2)),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func compileCEL(t testing.TB, env *cel.Env, what, expr string) cel.Program {
	t.Helper()
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		t.Fatalf("%s does not compile: %v\n%s", what, iss.Err(), expr)
	}
	prg, err := env.Program(ast, cel.CostLimit(perCallLimit))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return prg
}

// compileVAP compiles every expression of p; one that does not compile
// fails the test.
func compileVAP(t testing.TB, p *admv1.ValidatingAdmissionPolicy) *vap {
	t.Helper()
	env := celEnv(t)
	v := &vap{}
	for _, x := range p.Spec.Variables {
		v.vars = append(v.vars, compiled{x.Name, compileCEL(t, env, "variable "+x.Name, x.Expression)})
	}
	for i, x := range p.Spec.Validations {
		cv := compiledValidation{expr: compileCEL(t, env, fmt.Sprintf("validation %d", i), x.Expression), message: x.Message}
		if x.MessageExpression != "" {
			cv.msg = compileCEL(t, env, fmt.Sprintf("validation %d messageExpression", i), x.MessageExpression)
		}
		v.valid = append(v.valid, cv)
	}
	return v
}

// toUnstructured is obj as the API server hands it to CEL: its JSON, with
// integers as integers.
func toUnstructured(t testing.TB, obj any) map[string]any {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return numbers(m).(map[string]any)
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// admit evaluates the policy on obj being created and returns the messages
// of the validations that refuse it; none means admitted. An evaluation
// error (a missing field not guarded by has(), a cost over the limit)
// fails the test: with failurePolicy Fail the API server would refuse
// the object for it, for no reason the policy meant.
func (v *vap) admit(t testing.TB, obj runtime.Object) []string {
	t.Helper()
	return v.admitUnstructured(t, toUnstructured(t, obj))
}

func (v *vap) admitUnstructured(t testing.TB, object map[string]any) []string {
	t.Helper()
	vars := map[string]any{}
	act := map[string]any{"object": object, "oldObject": nil, "variables": vars}
	for _, x := range v.vars {
		out, _, err := x.prg.Eval(act)
		if err != nil {
			t.Fatalf("variable %s: %v", x.name, err)
		}
		vars[x.name] = out
	}
	var refused []string
	for i, x := range v.valid {
		out, _, err := x.expr.Eval(act)
		if err != nil {
			t.Fatalf("validation %d: %v", i, err)
		}
		ok, isBool := out.Value().(bool)
		if !isBool {
			t.Fatalf("validation %d gives %T, not a bool", i, out.Value())
		}
		if ok {
			continue
		}
		msg := x.message
		if x.msg != nil {
			m, _, err := x.msg.Eval(act)
			if err != nil {
				t.Fatalf("validation %d messageExpression: %v", i, err)
			}
			if msg, isBool = m.Value().(string); !isBool {
				t.Fatalf("validation %d messageExpression gives %T, not a string", i, m.Value())
			}
		}
		refused = append(refused, msg)
	}
	return refused
}
