package awskms_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
)

// The real client must satisfy the adapters' interface.
var _ awskms.API = (*kms.Client)(nil)

// fakeKMS behaves like KMS for the three calls the adapters make: data keys really are
// encrypted under a master key bound to key id and encryption context, Decrypt refuses
// another context, and GenerateMac is a real HMAC. It records every request.
type fakeKMS struct {
	keyID  string
	master cipher.AEAD
	macKey []byte

	mu        sync.Mutex
	gen       []*kms.GenerateDataKeyInput
	dec       []*kms.DecryptInput
	mac       []*kms.GenerateMacInput
	handedOut [][]byte // plaintext data keys given out, to check the caller wiped them
	fail      error    // returned by the next call when set
}

func newFakeKMS(keyID string) *fakeKMS {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	return &fakeKMS{keyID: keyID, master: aead, macKey: mk}
}

// contextAAD is the canonical form of key id and encryption context.
func contextAAD(keyID string, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(keyID)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, ec[k])
	}
	return []byte(b.String())
}

func (f *fakeKMS) takeFailure() error {
	err := f.fail
	f.fail = nil
	return err
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen = append(f.gen, in)
	if err := f.takeFailure(); err != nil {
		return nil, err
	}
	if aws.ToString(in.KeyId) != f.keyID {
		return nil, &types.NotFoundException{Message: aws.String("key not found")}
	}
	if in.KeySpec != types.DataKeySpecAes256 {
		return nil, fmt.Errorf("ValidationException: fake supports AES_256 only")
	}
	pt := make([]byte, 32)
	_, _ = rand.Read(pt)
	nonce := make([]byte, f.master.NonceSize())
	_, _ = rand.Read(nonce)
	blob := f.master.Seal(nonce, nonce, pt, contextAAD(f.keyID, in.EncryptionContext))
	f.handedOut = append(f.handedOut, pt)
	return &kms.GenerateDataKeyOutput{KeyId: in.KeyId, Plaintext: pt, CiphertextBlob: blob}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dec = append(f.dec, in)
	if err := f.takeFailure(); err != nil {
		return nil, err
	}
	if in.KeyId != nil && *in.KeyId != f.keyID {
		return nil, &types.IncorrectKeyException{Message: aws.String("wrong key")}
	}
	n := f.master.NonceSize()
	if len(in.CiphertextBlob) < n {
		return nil, &types.InvalidCiphertextException{Message: aws.String("short")}
	}
	pt, err := f.master.Open(nil, in.CiphertextBlob[:n], in.CiphertextBlob[n:], contextAAD(f.keyID, in.EncryptionContext))
	if err != nil {
		return nil, &types.InvalidCiphertextException{Message: aws.String("cannot decrypt")}
	}
	return &kms.DecryptOutput{KeyId: aws.String(f.keyID), Plaintext: pt}, nil
}

func (f *fakeKMS) GenerateMac(_ context.Context, in *kms.GenerateMacInput, _ ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mac = append(f.mac, in)
	if err := f.takeFailure(); err != nil {
		return nil, err
	}
	if aws.ToString(in.KeyId) != f.keyID {
		return nil, &types.NotFoundException{Message: aws.String("key not found")}
	}
	if in.MacAlgorithm != types.MacAlgorithmSpecHmacSha256 {
		return nil, &types.InvalidKeyUsageException{Message: aws.String("algorithm")}
	}
	if len(in.Message) == 0 {
		return nil, fmt.Errorf("ValidationException: empty message")
	}
	h := hmac.New(sha256.New, f.macKey)
	h.Write(in.Message)
	return &kms.GenerateMacOutput{KeyId: in.KeyId, Mac: h.Sum(nil), MacAlgorithm: in.MacAlgorithm}, nil
}
