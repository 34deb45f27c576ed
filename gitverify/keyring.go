package gitverify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"

	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/spec"
)

// MaxKeyringSize is the largest keys file LoadKeyring reads.
const MaxKeyringSize = 1 << 20

// ErrInsideSpecFolder is returned by LoadKeyring for a keys file that
// whoever writes the spec folder could change.
var ErrInsideSpecFolder = errors.New("inside the spec folder or its checkout")

// Keyring is the set of public keys whose signatures make a revision
// acceptable. It is not changed after ParseKeyring and is safe for
// concurrent use.
type Keyring struct {
	file string
	pgp  openpgp.EntityList
	ssh  []sshKey
}

type sshKey struct {
	key     ssh.PublicKey
	comment string
	line    int
}

// File returns the file the keys were read from.
func (k *Keyring) File() string { return k.file }

// Len returns how many keys the keyring holds.
func (k *Keyring) Len() int { return len(k.pgp) + len(k.ssh) }

// LoadKeyring reads the keys file at path. It refuses a file inside one of
// the folders in notInside (the spec folder and the top of its checkout:
// whoever may push must not choose the keys), and a file others than
// administrators may change (see package adminonly).
func LoadKeyring(path string, notInside ...string) (*Keyring, error) {
	for _, dir := range notInside {
		if dir != "" && adminonly.Inside(path, dir) {
			return nil, fmt.Errorf("keys file %s is %w %s: whoever may change the specs could choose the keys; keep it in an administrators' folder such as C:\\ProgramData\\isoagent", path, ErrInsideSpecFolder, dir)
		}
	}
	if err := adminonly.Check(path, false); err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxKeyringSize+1)); err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	if buf.Len() > MaxKeyringSize {
		return nil, fmt.Errorf("keys file %s is larger than %d bytes", path, MaxKeyringSize)
	}
	return ParseKeyring(path, buf.Bytes())
}

const (
	pgpBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	pgpEnd   = "-----END PGP PUBLIC KEY BLOCK-----"
)

// ParseKeyring reads a keys file's content; file names it in errors. The
// file holds, in any order, ASCII-armored OpenPGP public key blocks (as
// gpg --export --armor writes them) and SSH public keys one a line, in
// the authorized_keys form ("ssh-ed25519 AAAA... comment") or git's
// allowed-signers form ("alice@example.com ssh-ed25519 AAAA..."). Blank
// lines and lines starting with '#' are skipped. Every key that does not
// parse is an error with its line; a file without keys is an error too.
func ParseKeyring(file string, data []byte) (*Keyring, error) {
	k := &Keyring{file: file}
	var errs []*spec.Error
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxKeyringSize+1)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
			continue
		case text == pgpBegin:
			start := line
			var block strings.Builder
			block.WriteString(text + "\n")
			closed := false
			for !closed && sc.Scan() {
				line++
				t := strings.TrimSpace(sc.Text())
				block.WriteString(t + "\n")
				closed = t == pgpEnd
			}
			if !closed {
				errs = append(errs, &spec.Error{File: file, Line: start, Column: 1, Message: "OpenPGP key block has no " + pgpEnd + " line"})
				continue
			}
			ents, err := openpgp.ReadArmoredKeyRing(strings.NewReader(block.String()))
			if err != nil {
				errs = append(errs, &spec.Error{File: file, Line: start, Column: 1, Message: fmt.Sprintf("OpenPGP key block: %v", err)})
				continue
			}
			k.pgp = append(k.pgp, ents...)
		default:
			pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
			if err != nil {
				errs = append(errs, &spec.Error{File: file, Line: line, Column: 1, Message: fmt.Sprintf("not an SSH public key (ssh-ed25519 AAAA... comment) nor the start of an OpenPGP key block: %v", err)})
				continue
			}
			k.ssh = append(k.ssh, sshKey{key: pub, comment: comment, line: line})
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &spec.Error{File: file, Message: err.Error()})
	}
	if len(errs) == 0 && k.Len() == 0 {
		errs = append(errs, &spec.Error{File: file, Message: "lists no key; add the OpenPGP key blocks (gpg --export --armor KEYID) or SSH public keys (ssh-ed25519 AAAA...) whose signatures are trusted"})
	}
	if len(errs) > 0 {
		return nil, spec.JoinErrors(errs)
	}
	return k, nil
}
