// Package kmskeys is the setup part of the functions that seal, open or MAC with KMS
// (invitation, pairing): the password key and the security code's HMAC key.
package kmskeys

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

// Part seals with the password key KMS_KEY_ID and MACs with the HMAC key MAC_KEY_ID;
// both are required.
func Part(a *setup.AWS, env *setup.Env) error {
	passwordKey, macKey := env.Need(deploy.EnvPasswordKey), env.Need(deploy.EnvMACKey)
	client := kms.NewFromConfig(a.Config)
	a.Service.Sealer = awskms.NewSealer(client, passwordKey)
	a.Service.Codes = awskms.NewCodeMAC(client, macKey)
	return nil
}
