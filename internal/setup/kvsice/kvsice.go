// Package kvsice is the setup part of the function that starts remote connections
// (invitation): their ICE servers are Kinesis Video Streams' managed TURN
// (internal/iceservers), with one signalling channel per account, made on first use and
// named after KVS_CHANNEL_PREFIX.
package kvsice

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/iceservers"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

// channelPrefix is what a KVS channel name allows (1 to 256 of [a-zA-Z0-9_.-]), leaving
// room for the hyphen and the account's hash.
var channelPrefix = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,200}$`)

// Part hands out KVS's TURN servers; KVS_CHANNEL_PREFIX is required, and a malformed one
// is an error at start, not at the first remote connection.
func Part(a *setup.AWS, env *setup.Env) error {
	prefix := env.Need(deploy.EnvKVSChannels)
	if prefix == "" {
		return nil // reported with the other missing variables
	}
	if !channelPrefix.MatchString(prefix) {
		return fmt.Errorf("%s=%q: want 1 to 200 of letters, digits, '_', '.' and '-'", deploy.EnvKVSChannels, prefix)
	}
	a.Service.ICE = &iceservers.KVS{
		API:           kinesisvideo.NewFromConfig(a.Config),
		Credentials:   a.Config.Credentials,
		Region:        a.Config.Region,
		ChannelPrefix: prefix,
	}
	return nil
}
