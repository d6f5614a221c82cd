package setup_test

import (
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/iceservers"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
	"github.com/adhoc-support/adhoc-support/internal/setup"
	"github.com/adhoc-support/adhoc-support/internal/setup/kmskeys"
	"github.com/adhoc-support/adhoc-support/internal/setup/kvsice"
	"github.com/adhoc-support/adhoc-support/internal/setup/s3app"
	"github.com/adhoc-support/adhoc-support/internal/setup/sesmail"
)

func TestParts(t *testing.T) {
	base := map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		deploy.EnvTableName: "t", deploy.EnvEventBusName: "b",
	}
	cases := []struct {
		name    string
		parts   []setup.Part
		env     map[string]string
		wantErr []string // each in the error
		check   func(t *testing.T, a *setup.AWS)
	}{
		{
			name: "kmskeys: both keys", parts: []setup.Part{kmskeys.Part},
			env: map[string]string{deploy.EnvPasswordKey: "alias/p", deploy.EnvMACKey: "alias/m"},
			check: func(t *testing.T, a *setup.AWS) {
				if _, ok := a.Service.Sealer.(*awskms.Sealer); !ok {
					t.Errorf("sealer %T, want KMS's", a.Service.Sealer)
				}
				if _, ok := a.Service.Codes.(*awskms.CodeMAC); !ok {
					t.Errorf("code MAC %T, want KMS's", a.Service.Codes)
				}
			},
		},
		{name: "kmskeys: no keys", parts: []setup.Part{kmskeys.Part}, wantErr: []string{deploy.EnvPasswordKey, deploy.EnvMACKey}},
		{
			name: "sesmail: a sender", parts: []setup.Part{sesmail.Part},
			env: map[string]string{deploy.EnvMailFrom: "Ad-hoc Support <support@example.com>", deploy.EnvMailConfigSet: "adhoc-mail"},
			check: func(t *testing.T, a *setup.AWS) {
				if _, ok := a.Service.Mail.(*mail.Mailer); !ok {
					t.Errorf("mailer %T, want SES's", a.Service.Mail)
				}
			},
		},
		{name: "sesmail: no sender", parts: []setup.Part{sesmail.Part}, wantErr: []string{deploy.EnvMailFrom}},
		{name: "sesmail: a malformed sender", parts: []setup.Part{sesmail.Part}, env: map[string]string{deploy.EnvMailFrom: "not an address"}, wantErr: []string{deploy.EnvMailFrom}},
		{
			name: "s3app: a bucket", parts: []setup.Part{s3app.Part}, env: map[string]string{deploy.EnvAppBucket: "app-bucket"},
			check: func(t *testing.T, a *setup.AWS) {
				if a.Downloads == nil {
					t.Error("no downloads with a bucket")
				}
			},
		},
		{
			name: "s3app: no bucket", parts: []setup.Part{s3app.Part},
			check: func(t *testing.T, a *setup.AWS) {
				if a.Downloads != nil {
					t.Error("downloads without a bucket")
				}
			},
		},
		{
			name: "kvsice: a channel prefix", parts: []setup.Part{kvsice.Part}, env: map[string]string{deploy.EnvKVSChannels: "AdhocSupport"},
			check: func(t *testing.T, a *setup.AWS) {
				k, ok := a.Service.ICE.(*iceservers.KVS)
				if !ok || k.ChannelPrefix != "AdhocSupport" || k.Region != "eu-central-1" || k.Credentials == nil || k.API == nil {
					t.Errorf("ICE servers %T %+v, want KVS's for the prefix", a.Service.ICE, a.Service.ICE)
				}
				if !strings.HasPrefix(k.ChannelName("acme"), "AdhocSupport-") || len(k.ChannelName("acme")) != len("AdhocSupport-")+deploy.KVSChannelHashLen {
					t.Errorf("channel name %q", k.ChannelName("acme"))
				}
			},
		},
		{name: "kvsice: no prefix", parts: []setup.Part{kvsice.Part}, wantErr: []string{deploy.EnvKVSChannels}},
		{name: "kvsice: a malformed prefix", parts: []setup.Part{kvsice.Part}, env: map[string]string{deploy.EnvKVSChannels: "adhoc support"}, wantErr: []string{deploy.EnvKVSChannels}},
		{
			name: "no kvsice: no remote access", parts: []setup.Part{s3app.Part},
			check: func(t *testing.T, a *setup.AWS) {
				if a.Service.ICE != nil {
					t.Errorf("ICE servers %T without the part", a.Service.ICE)
				}
			},
		},
		{
			name: "every missing variable at once", parts: []setup.Part{kmskeys.Part, sesmail.Part},
			env:     map[string]string{deploy.EnvTableName: ""},
			wantErr: []string{deploy.EnvTableName, deploy.EnvPasswordKey, deploy.EnvMACKey, deploy.EnvMailFrom},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a function's parts and environment WHEN it is wired THEN each part
			// adds its client, or start fails naming what is missing.
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range c.env {
				env[k] = v
			}
			a, err := setup.FromAWS(func(k string) string { return env[k] }, c.parts...)
			if len(c.wantErr) > 0 {
				for _, want := range c.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v, want one naming %s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, a)
		})
	}
}
