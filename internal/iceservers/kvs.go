// Package iceservers hands out the ICE servers (TURN relays with short-lived credentials)
// that a remote connection's two ends use when no direct path exists. In AWS they come
// from Kinesis Video Streams' managed TURN (KVS); locally from the pion/turn server of
// internal/local/turn. Both answer in protocol.ICEServer, the form the browser's
// RTCPeerConnection and pion take.
package iceservers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// KVSAPI is the part of the Kinesis Video Streams control-plane client the adapter calls.
type KVSAPI interface {
	DescribeSignalingChannel(ctx context.Context, in *kinesisvideo.DescribeSignalingChannelInput, opts ...func(*kinesisvideo.Options)) (*kinesisvideo.DescribeSignalingChannelOutput, error)
	CreateSignalingChannel(ctx context.Context, in *kinesisvideo.CreateSignalingChannelInput, opts ...func(*kinesisvideo.Options)) (*kinesisvideo.CreateSignalingChannelOutput, error)
	GetSignalingChannelEndpoint(ctx context.Context, in *kinesisvideo.GetSignalingChannelEndpointInput, opts ...func(*kinesisvideo.Options)) (*kinesisvideo.GetSignalingChannelEndpointOutput, error)
}

// KVS hands out Kinesis Video Streams' managed TURN servers. KVS gives TURN credentials for
// a signalling channel; the product makes one channel per account on first use (named
// ChannelPrefix plus a hash of the account, as channel names allow only a few
// characters) and never uses the channel for signalling itself: offers and answers go
// through the live channel. GetIceServerConfig has no SDK client on this build, so the
// one call is signed with SigV4 here, as the AWS SDKs sign it (service "kinesisvideo").
type KVS struct {
	API           KVSAPI
	Credentials   aws.CredentialsProvider
	Region        string
	ChannelPrefix string       // e.g. "adhoc-support"; the stack grants channels of this prefix
	HTTP          *http.Client // nil: a client with a 10 s timeout
	Now           func() time.Time

	mu       sync.Mutex
	channels map[string]channel // by account: what a function instance has looked up
}

type channel struct {
	arn, endpoint string
}

// ChannelName is the signalling channel of an account: the prefix, a hyphen and
// deploy.KVSChannelHashLen hex digits of the account's SHA-256.
func (k *KVS) ChannelName(account string) string {
	sum := sha256.Sum256([]byte(account))
	return k.ChannelPrefix + "-" + hex.EncodeToString(sum[:deploy.KVSChannelHashLen/2])
}

// Servers returns the TURN servers for a remote connection of the account, and when their
// credentials expire (KVS: 5 minutes).
func (k *KVS) Servers(ctx context.Context, account, clientID string) ([]protocol.ICEServer, time.Time, error) {
	ch, err := k.channel(ctx, account)
	if err != nil {
		return nil, time.Time{}, err
	}
	body, err := json.Marshal(map[string]string{"ChannelARN": ch.arn, "ClientId": clientID, "Service": "TURN"})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: %w", err)
	}
	url := strings.TrimRight(ch.endpoint, "/") + "/v1/get-ice-server-config"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := k.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kinesisvideo", k.Region, k.now()); err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: sign: %w", err)
	}
	client := k.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: GetIceServerConfig: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: GetIceServerConfig: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		// The body names the error type and never holds a credential.
		return nil, time.Time{}, fmt.Errorf("ice servers: GetIceServerConfig answered %d: %.200s", res.StatusCode, raw)
	}
	var out struct {
		IceServerList []struct {
			Password string   `json:"Password"`
			TTL      int      `json:"Ttl"`
			Uris     []string `json:"Uris"`
			Username string   `json:"Username"`
		} `json:"IceServerList"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, time.Time{}, fmt.Errorf("ice servers: GetIceServerConfig: unreadable answer: %w", err)
	}
	if len(out.IceServerList) == 0 {
		return nil, time.Time{}, errors.New("ice servers: GetIceServerConfig gave no servers")
	}
	now := k.now()
	var expires time.Time
	servers := make([]protocol.ICEServer, 0, len(out.IceServerList))
	for _, s := range out.IceServerList {
		servers = append(servers, protocol.ICEServer{URLs: s.Uris, Username: s.Username, Credential: s.Password})
		if until := now.Add(time.Duration(s.TTL) * time.Second); expires.IsZero() || until.Before(expires) {
			expires = until
		}
	}
	return servers, expires, nil
}

func (k *KVS) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// channel finds (or makes) the account's signalling channel and its HTTPS endpoint, once
// per function instance.
func (k *KVS) channel(ctx context.Context, account string) (channel, error) {
	k.mu.Lock()
	ch, ok := k.channels[account]
	k.mu.Unlock()
	if ok {
		return ch, nil
	}
	name := k.ChannelName(account)
	arn, err := k.channelARN(ctx, name)
	if err != nil {
		return channel{}, err
	}
	ep, err := k.API.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{
		ChannelARN: aws.String(arn),
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolHttps}, Role: types.ChannelRoleMaster,
		},
	})
	if err != nil {
		return channel{}, fmt.Errorf("ice servers: signalling endpoint: %w", err)
	}
	for _, e := range ep.ResourceEndpointList {
		if e.Protocol == types.ChannelProtocolHttps && aws.ToString(e.ResourceEndpoint) != "" {
			ch = channel{arn: arn, endpoint: aws.ToString(e.ResourceEndpoint)}
		}
	}
	if ch.endpoint == "" {
		return channel{}, errors.New("ice servers: no HTTPS endpoint for the signalling channel")
	}
	k.mu.Lock()
	if k.channels == nil {
		k.channels = map[string]channel{}
	}
	k.channels[account] = ch
	k.mu.Unlock()
	return ch, nil
}

func (k *KVS) channelARN(ctx context.Context, name string) (string, error) {
	d, err := k.API.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String(name)})
	var missing *types.ResourceNotFoundException
	switch {
	case err == nil && d.ChannelInfo != nil && d.ChannelInfo.ChannelARN != nil:
		return *d.ChannelInfo.ChannelARN, nil
	case err != nil && !errors.As(err, &missing):
		return "", fmt.Errorf("ice servers: describe channel: %w", err)
	}
	// No tags: tagging on creation may need kinesisvideo:TagResource besides, and the
	// name's prefix (the stack's) already says whose channel it is.
	c, err := k.API.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{
		ChannelName: aws.String(name), ChannelType: types.ChannelTypeSingleMaster,
	})
	var exists *types.ResourceInUseException
	if errors.As(err, &exists) {
		// Another instance made it meanwhile.
		d, err := k.API.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String(name)})
		if err != nil || d.ChannelInfo == nil || d.ChannelInfo.ChannelARN == nil {
			return "", fmt.Errorf("ice servers: describe channel after a race: %w", err)
		}
		return *d.ChannelInfo.ChannelARN, nil
	}
	if err != nil {
		return "", fmt.Errorf("ice servers: create channel: %w", err)
	}
	return aws.ToString(c.ChannelARN), k.waitActive(ctx, name)
}

// waitActive waits until a channel just made is ACTIVE: its endpoint is not served while
// it is CREATING (a few seconds at most).
func (k *KVS) waitActive(ctx context.Context, name string) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		d, err := k.API.DescribeSignalingChannel(ctx, &kinesisvideo.DescribeSignalingChannelInput{ChannelName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("ice servers: describe the new channel: %w", err)
		}
		if d.ChannelInfo != nil && d.ChannelInfo.ChannelStatus == types.StatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ice servers: the new channel is not active: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}
