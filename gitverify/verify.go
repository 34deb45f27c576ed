package gitverify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Reason is why a revision is refused, a metric label value.
type Reason string

// Refusal reasons.
const (
	// ReasonUnsigned: the commit carries no signature.
	ReasonUnsigned Reason = "unsigned"
	// ReasonUntrusted: the commit is signed, with a key the keyring does
	// not hold.
	ReasonUntrusted Reason = "untrusted"
	// ReasonInvalid: the signature does not verify with the key it names
	// (the commit was changed after signing, or the signature is
	// malformed, expired or of a kind isoagent cannot check).
	ReasonInvalid Reason = "invalid"
)

// Reasons returns every Reason, for pre-initialising metric series.
func Reasons() []Reason { return []Reason{ReasonUnsigned, ReasonUntrusted, ReasonInvalid} }

// SSHNamespace is the namespace git signs commits in (gpg-interface.c).
const SSHNamespace = "git"

// RefusalError says why a revision is not applied.
type RefusalError struct {
	Revision string
	Reason   Reason
	// Detail says what was found: which key signed it, what failed.
	Detail string
}

func (e *RefusalError) Error() string {
	return fmt.Sprintf("revision %s is refused (%s): %s", short(e.Revision), e.Reason, e.Detail)
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// Signer says who signed a verified commit.
type Signer struct {
	// Kind is "openpgp" or "ssh".
	Kind string `json:"kind"`
	// Key is the OpenPGP key's fingerprint, or the SSH key's SHA256
	// fingerprint.
	Key string `json:"key"`
	// Identity is the OpenPGP key's primary user ID, or the SSH key's
	// comment in the keys file.
	Identity string `json:"identity,omitempty"`
}

func (s Signer) String() string {
	if s.Identity != "" {
		return fmt.Sprintf("%s key %s (%s)", s.Kind, s.Key, s.Identity)
	}
	return fmt.Sprintf("%s key %s", s.Kind, s.Key)
}

const (
	pgpSignature = "-----BEGIN PGP SIGNATURE-----"
	sshSignature = "-----BEGIN SSH SIGNATURE-----"
)

// Verify checks c's signature against the keyring. It returns who signed
// c, or a *RefusalError.
func (k *Keyring) Verify(c *object.Commit) (Signer, error) {
	rev := c.Hash.String()
	refuse := func(r Reason, format string, args ...any) (Signer, error) {
		return Signer{}, &RefusalError{Revision: rev, Reason: r, Detail: fmt.Sprintf(format, args...)}
	}
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return refuse(ReasonUnsigned, "the commit is not signed; sign it (git commit -S) with a key listed in %s", k.file)
	}
	if n := strings.Count(sig, "-----BEGIN "); n > 1 {
		return refuse(ReasonInvalid, "the commit carries %d signatures; git accepts one", n)
	}
	payload, err := signedPayload(c)
	if err != nil {
		return refuse(ReasonInvalid, "cannot encode the commit as signed: %v", err)
	}
	switch {
	case strings.HasPrefix(sig, sshSignature):
		return k.verifySSH(rev, sig, payload)
	case strings.HasPrefix(sig, pgpSignature):
		return k.verifyPGP(rev, sig, payload)
	}
	kind, _, _ := strings.Cut(strings.TrimPrefix(sig, "-----BEGIN "), "-----")
	return refuse(ReasonInvalid, "the signature is of a kind isoagent cannot check (%s); sign with an OpenPGP or SSH key", strings.ToLower(kind))
}

// signedPayload is the commit as git signs it: its object without the
// gpgsig header, as it was read.
func signedPayload(c *object.Commit) ([]byte, error) {
	var o plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&o); err != nil {
		return nil, err
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (k *Keyring) verifySSH(rev, armored string, payload []byte) (Signer, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return Signer{}, &RefusalError{Revision: rev, Reason: ReasonInvalid, Detail: fmt.Sprintf("the SSH signature cannot be read: %v", err)}
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	for _, key := range k.ssh {
		if ssh.FingerprintSHA256(key.key) != fp {
			continue
		}
		if err := sshsig.Verify(bytes.NewReader(payload), sig, key.key, sig.HashAlgorithm, SSHNamespace); err != nil {
			return Signer{}, &RefusalError{Revision: rev, Reason: ReasonInvalid, Detail: fmt.Sprintf("the SSH signature by %s does not verify: %v", fp, err)}
		}
		return Signer{Kind: "ssh", Key: fp, Identity: key.comment}, nil
	}
	return Signer{}, &RefusalError{Revision: rev, Reason: ReasonUntrusted,
		Detail: fmt.Sprintf("signed with SSH key %s (%s), which %s does not list", fp, sig.PublicKey.Type(), k.file)}
}

func (k *Keyring) verifyPGP(rev, armored string, payload []byte) (Signer, error) {
	ent, err := openpgp.CheckArmoredDetachedSignature(k.pgp, bytes.NewReader(payload), strings.NewReader(armored), nil)
	if err == nil {
		s := Signer{Kind: "openpgp", Key: fmt.Sprintf("%X", ent.PrimaryKey.Fingerprint)}
		if id := ent.PrimaryIdentity(); id != nil {
			s.Identity = id.Name
		}
		return s, nil
	}
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return Signer{}, &RefusalError{Revision: rev, Reason: ReasonUntrusted,
			Detail: fmt.Sprintf("signed with OpenPGP key %s, which %s does not list", issuer(armored), k.file)}
	}
	return Signer{}, &RefusalError{Revision: rev, Reason: ReasonInvalid, Detail: fmt.Sprintf("the OpenPGP signature does not verify: %v", err)}
}

// issuer names the key an armored OpenPGP signature says it was made
// with, for messages.
func issuer(armored string) string {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return "(unknown)"
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return "(unknown)"
	}
	if s, ok := p.(*packet.Signature); ok {
		switch {
		case s.IssuerFingerprint != nil:
			return fmt.Sprintf("%X", s.IssuerFingerprint)
		case s.IssuerKeyId != nil:
			return fmt.Sprintf("%016X", *s.IssuerKeyId)
		}
	}
	return "(unknown)"
}
