package awskms_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var _ support.CodeMACer = (*awskms.CodeMAC)(nil)

func TestCodeMAC(t *testing.T) {
	ctx := context.Background()
	fake := newFakeKMS(testKeyID)
	m := awskms.NewCodeMAC(fake, testKeyID)
	got, err := m.MAC(ctx, "123456789")
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, fake.macKey)
	h.Write([]byte("123456789"))
	if !bytes.Equal(got, h.Sum(nil)) {
		t.Errorf("MAC = %x, want KMS's HMAC", got)
	}
	if len(fake.mac) != 1 {
		t.Fatalf("GenerateMac called %d times, want 1", len(fake.mac))
	}
	in := fake.mac[0]
	if aws.ToString(in.KeyId) != testKeyID {
		t.Errorf("KeyId = %q, want %q", aws.ToString(in.KeyId), testKeyID)
	}
	if in.MacAlgorithm != types.MacAlgorithmSpecHmacSha256 {
		t.Errorf("MacAlgorithm = %q, want HMAC_SHA_256", in.MacAlgorithm)
	}
	if string(in.Message) != "123456789" {
		t.Errorf("Message = %q, want the digits", in.Message)
	}

	if _, err := m.MAC(ctx, ""); !errors.Is(err, secrets.ErrEmptyCode) {
		t.Errorf("MAC of an empty code: err = %v, want ErrEmptyCode", err)
	}
	if len(fake.mac) != 1 {
		t.Error("an empty code reached KMS")
	}
	boom := &types.KMSInternalException{Message: aws.String("boom")}
	fake.fail = boom
	if _, err := m.MAC(ctx, "123456789"); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the KMS error wrapped", err)
	}
}
