// Package sesmail is the setup part of the function that sends the invitation mail
// (invitation) with SES v2.
package sesmail

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

// Part sends from MAIL_FROM (required; a bare address or one with a display name) through
// the configuration set SES_CONFIGURATION_SET, if set. A malformed sender is an error at
// start, not at the first invitation.
func Part(a *setup.AWS, env *setup.Env) error {
	from := env.Need(deploy.EnvMailFrom)
	if from == "" {
		return nil // reported with the other missing variables
	}
	var opts []mail.Option
	if set := env.Get(deploy.EnvMailConfigSet); set != "" {
		opts = append(opts, mail.WithConfigurationSet(set))
	}
	m := mail.New(sesv2.NewFromConfig(a.Config), from, opts...)
	if err := m.Check(); err != nil {
		return fmt.Errorf("%s: %w", deploy.EnvMailFrom, err)
	}
	a.Service.Mail = m
	return nil
}
