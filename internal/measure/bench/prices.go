package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Region is the AWS Region whose list prices the cost model uses. Prices differ between
// Regions (eu-central-1 is dearer for most of these lines); change the table, not the
// model, to price another Region.
const Region = "us-east-1"

// PricesChecked is when the table below was last compared with the public pricing pages
// as a whole.
const PricesChecked = "2026-11-25"

// WebSocketPricesChecked is when the WebSocket API's two lines were compared with the
// pricing page (added with the live channel, after the rest of the table).
const WebSocketPricesChecked = "2026-12-03"

// KVSPricesChecked is when the Kinesis Video Streams lines (remote access's TURN) were
// compared with the pricing page.
const KVSPricesChecked = "2026-12-03"

// Price is one line of an AWS price list.
type Price struct {
	Key    string  // what the cost model refers to
	Name   string  // what the bill calls it
	Unit   string  // one billed unit, e.g. "request", "GB-second"
	USD    float64 // the list price of Per units
	Per    float64 // how many units USD buys, e.g. 1e6 for "per million requests"
	Source string  // the pricing page the figure comes from
	Note   string  // tier, free tier or rounding the model leaves out
	// Checked is when the figure was last compared with the page.
	Checked string
}

// PerUnit is the price of one unit.
func (p Price) PerUnit() float64 { return p.USD / p.Per }

// Price keys.
const (
	PriceAPIRequest  = "apigw.http.request"
	PriceWSMessage   = "apigw.websocket.message"
	PriceWSMinute    = "apigw.websocket.connection-minute"
	PriceLambdaReq   = "lambda.request"
	PriceLambdaGBs   = "lambda.arm64.gb-second"
	PriceDynamoRRU   = "dynamodb.ondemand.rru"
	PriceDynamoWRU   = "dynamodb.ondemand.wru"
	PriceEvent       = "eventbridge.custom-event"
	PriceSchedule    = "scheduler.invocation"
	PriceMail        = "ses.email"
	PriceKMSRequest  = "kms.request"
	PriceKMSKeyMonth = "kms.key-month"
	PriceTrace       = "xray.trace"
	PriceLogGB       = "logs.ingest-gb"
	PriceS3Request   = "s3.get-request"
	PriceTransferGB  = "transfer.out-gb"
	PriceKVSMessage  = "kvs.signaling-message"
	PriceKVSChannel  = "kvs.signaling-channel-month"
	PriceTURNMinute  = "kvs.turn-minute"
)

// Prices is the one price table of the cost model (us-east-1 list prices, on-demand, no
// free tier, first volume tier). docs/cost.md mirrors it; TestPricesMatchDocs keeps the two
// the same.
var Prices = []Price{
	{PriceAPIRequest, "API Gateway HTTP API requests", "request", 1.00, 1e6, "Amazon API Gateway pricing (HTTP APIs)", "first 300 million a month; requests are metered in 512 KB steps", PricesChecked},
	{PriceWSMessage, "API Gateway WebSocket messages", "message", 1.00, 1e6, "Amazon API Gateway pricing (WebSocket APIs)", "first billion a month; sent and received, metered in 32 KB steps; the model counts $connect and $disconnect as a message each", WebSocketPricesChecked},
	{PriceWSMinute, "API Gateway WebSocket connection minutes", "connection-minute", 0.25, 1e6, "Amazon API Gateway pricing (WebSocket APIs)", "minutes each connection was open; the model does not round a started minute up", WebSocketPricesChecked},
	{PriceLambdaReq, "Lambda requests", "request", 0.20, 1e6, "AWS Lambda pricing", "same for x86 and Arm", PricesChecked},
	{PriceLambdaGBs, "Lambda duration, Arm", "GB-second", 0.0000133334, 1, "AWS Lambda pricing", "first 7.5 billion GB-s a month; duration rounded up to 1 ms", PricesChecked},
	{PriceDynamoRRU, "DynamoDB on-demand read request units", "RRU", 0.125, 1e6, "Amazon DynamoDB pricing (on-demand, Standard table class)", "strongly consistent read up to 4 KB = 1 RRU", PricesChecked},
	{PriceDynamoWRU, "DynamoDB on-demand write request units", "WRU", 0.625, 1e6, "Amazon DynamoDB pricing (on-demand, Standard table class)", "1 KB = 1 WRU; transactional writes 2 WRU per KB", PricesChecked},
	{PriceEvent, "EventBridge custom events", "event", 1.00, 1e6, "Amazon EventBridge pricing (event bus)", "each 64 KB chunk of an entry is one event", PricesChecked},
	{PriceSchedule, "EventBridge Scheduler invocations", "invocation", 1.00, 1e6, "Amazon EventBridge pricing (Scheduler)", "14 million free a month not counted", PricesChecked},
	{PriceMail, "SES outbound email", "email", 0.10, 1000, "Amazon SES pricing", "attachments and dedicated IPs not used", PricesChecked},
	{PriceKMSRequest, "KMS requests (symmetric and HMAC)", "request", 0.03, 10000, "AWS KMS pricing", "20,000 free a month not counted", PricesChecked},
	{PriceKMSKeyMonth, "KMS customer managed key", "key-month", 1.00, 1, "AWS KMS pricing", "per deployment, not per session", PricesChecked},
	{PriceTrace, "X-Ray traces recorded", "trace", 5.00, 1e6, "AWS X-Ray pricing", "100,000 free a month not counted", PricesChecked},
	{PriceLogGB, "CloudWatch Logs ingestion (Standard)", "GB", 0.50, 1, "Amazon CloudWatch pricing (Logs)", "storage (kept a month) left out", PricesChecked},
	{PriceS3Request, "S3 Standard GET/HEAD requests", "request", 0.0004, 1000, "Amazon S3 pricing (requests)", "", PricesChecked},
	{PriceTransferGB, "Data transfer out to the internet", "GB", 0.09, 1, "Amazon EC2 on-demand pricing (data transfer)", "first 10 TB a month; 100 GB a month free not counted", PricesChecked},
	{PriceKVSMessage, "Kinesis Video Streams signaling messages", "message", 2.25, 1e6, "Amazon Kinesis Video Streams pricing (WebRTC)", "the product signals over its own live channel; the model counts each GetIceServerConfig call as one message", KVSPricesChecked},
	{PriceKVSChannel, "Kinesis Video Streams active signaling channel", "channel-month", 0.03, 1, "Amazon Kinesis Video Streams pricing (WebRTC)", "one channel per account, active in a month it hands out TURN servers", KVSPricesChecked},
	{PriceTURNMinute, "Kinesis Video Streams TURN streaming minutes", "TURN-minute", 0.12, 1000, "Amazon Kinesis Video Streams pricing (WebRTC)", "the model counts every minute of each end's TURN allocation, a started minute as a whole one", KVSPricesChecked},
}

// PriceList looks prices up by key.
type PriceList map[string]Price

// DefaultPrices is Prices by key.
func DefaultPrices() PriceList {
	pl := PriceList{}
	for _, p := range Prices {
		pl[p.Key] = p
	}
	return pl
}

// unit is the price of one unit of key; an unknown key is a programming error.
func (pl PriceList) unit(key string) float64 {
	p, ok := pl[key]
	if !ok {
		panic(fmt.Sprintf("bench: no price %q", key))
	}
	return p.PerUnit()
}

// PriceTableMarkdown is the price table as docs/cost.md shows it.
func PriceTableMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Region %s, list prices (on-demand, first volume tier, no free tier).\n\n", Region)
	b.WriteString("| key | item | USD | per | unit | source page | checked | note |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range Prices {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", p.Key, p.Name,
			money(p.USD), Thousands(p.Per), p.Unit, p.Source, p.Checked, p.Note)
	}
	return b.String()
}

// money writes a price with at least two decimals and all the digits it has.
func money(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-1 < 2 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return s
}

// Thousands writes a whole number with thousands separators (1234567 → "1,234,567").
func Thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
