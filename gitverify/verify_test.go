package gitverify

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func commitObject(t *testing.T, dir, hash string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerify(t *testing.T) {
	r := newRepo(t)
	trustedSSH, trustedSSHPub := sshKeyPair(t, "ops")
	otherSSH, _ := sshKeyPair(t, "intruder")
	trustedPGP := pgpEntity(t, "Release Manager")
	otherPGP := pgpEntity(t, "Someone Else")
	keys, err := ParseKeyring("keys", []byte("# who may change what runs\n"+trustedSSHPub+"\n\n"+armoredPublic(t, trustedPGP)))
	if err != nil {
		t.Fatal(err)
	}
	if keys.Len() != 2 {
		t.Fatalf("keyring holds %d keys, want 2", keys.Len())
	}

	r.write("web.yaml", "one\n")
	unsigned := r.commit("unsigned")
	r.write("web.yaml", "two\n")
	sshOK := r.commitSSH("ssh, trusted", trustedSSH)
	r.write("web.yaml", "three\n")
	sshOther := r.commitSSH("ssh, untrusted", otherSSH)
	r.write("web.yaml", "four\n")
	pgpOK := r.commitPGP("openpgp, trusted", trustedPGP)
	r.write("web.yaml", "five\n")
	pgpOther := r.commitPGP("openpgp, untrusted", otherPGP)

	tests := []struct {
		name   string
		hash   string
		kind   string // of the signer, when verified
		reason Reason // when refused
		detail string
	}{
		{"unsigned", unsigned, "", ReasonUnsigned, "not signed"},
		{"ssh trusted", sshOK, "ssh", "", ""},
		{"ssh untrusted", sshOther, "", ReasonUntrusted, "SSH key SHA256:"},
		{"openpgp trusted", pgpOK, "openpgp", "", ""},
		{"openpgp untrusted", pgpOther, "", ReasonUntrusted, "OpenPGP key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := keys.Verify(commitObject(t, r.dir, tt.hash))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want verified", err)
				}
				if s.Kind != tt.kind || s.Key == "" {
					t.Fatalf("signer = %+v, want a %s key", s, tt.kind)
				}
				return
			}
			var re *RefusalError
			if !errors.As(err, &re) {
				t.Fatalf("Verify = %v, want a refusal", err)
			}
			if re.Reason != tt.reason || re.Revision != tt.hash || !strings.Contains(re.Detail, tt.detail) {
				t.Fatalf("refusal = %+v, want %s mentioning %q", re, tt.reason, tt.detail)
			}
		})
	}

	t.Run("altered after signing", func(t *testing.T) {
		// The same signature on a commit whose message changed: what git
		// would show as a BAD signature.
		c := commitObject(t, r.dir, sshOK)
		c.Message = "something else\n"
		re := new(RefusalError)
		if _, err := keys.Verify(c); !errors.As(err, &re) || re.Reason != ReasonInvalid {
			t.Fatalf("Verify = %v, want an invalid signature", err)
		}
		c = commitObject(t, r.dir, pgpOK)
		c.Message = "something else\n"
		if _, err := keys.Verify(c); !errors.As(err, &re) || re.Reason != ReasonInvalid {
			t.Fatalf("Verify (openpgp) = %v, want an invalid signature", err)
		}
	})
}

func TestParseKeyring(t *testing.T) {
	_, pub := sshKeyPair(t, "ops")
	fields := strings.Fields(pub)
	tests := []struct {
		name    string
		content string
		keys    int
		errLine int // 0: no error expected
	}{
		{"authorized_keys line", pub + "\n", 1, 0},
		{"allowed signers line", "ops@example.com " + pub + "\n", 1, 0},
		{"key without comment", fields[0] + " " + fields[1] + "\n", 1, 0},
		{"garbage on line 3", "# keys\n" + pub + "\nnot a key\n", 0, 3},
		{"unterminated block", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n", 0, 1},
		{"empty", "# nothing here\n", 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyring("keys.txt", []byte(tt.content))
			switch {
			case tt.errLine == 0 && err != nil:
				t.Fatalf("ParseKeyring = %v", err)
			case tt.errLine == 0 && k.Len() != tt.keys:
				t.Fatalf("%d keys, want %d", k.Len(), tt.keys)
			case tt.errLine != 0 && err == nil:
				t.Fatal("ParseKeyring accepted it")
			case tt.errLine > 0:
				if !strings.Contains(err.Error(), "keys.txt:"+strconv.Itoa(tt.errLine)+":") {
					t.Fatalf("error %q does not point at line %d", err, tt.errLine)
				}
			}
		})
	}
}
