package bench

import (
	"math"
	"time"
)

// Usage is what a stretch of work consumes, in the units AWS bills. The zero value is
// nothing used.
type Usage struct {
	APIRequests float64 // API Gateway HTTP API requests
	// The live channel (API Gateway WebSocket API).
	WSMessages          float64 // messages billed, both ways, each counted in 32 KB steps
	WSConnectionMinutes float64 // minutes the connections were open
	WSConnects          float64 // connections opened (the new-connection rate quota)
	// WSRequests are what the live channel adds to the account's request throttle: the
	// clients' messages ($connect, $disconnect, pings) and the @connections calls.
	WSRequests           float64
	Invocations          float64 // Lambda requests
	LambdaSeconds        float64 // measured run time of those invocations, for Little's law
	GBSeconds            float64 // billed duration (rounded up to 1 ms) × configured memory
	RRU                  float64 // DynamoDB read request units
	WRU                  float64 // DynamoDB write request units
	Events               float64 // EventBridge custom events put on the bus
	SchedulerInvocations float64 // one-time schedules that fired
	Mails                float64 // SES messages (one recipient each)
	KMSRequests          float64
	KMSKeyMonths         float64
	Traces               float64 // X-Ray traces recorded
	LogBytes             float64 // CloudWatch Logs ingested
	S3Requests           float64 // S3 GET/HEAD requests
	TransferBytes        float64 // data sent to the internet
	// Remote access: Kinesis Video Streams' managed TURN.
	KVSMessages      float64 // signalling API calls (GetIceServerConfig)
	KVSChannelMonths float64 // active signalling channels (one per account)
	TURNMinutes      float64 // TURN allocations' minutes
}

// Add is u and v together.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		APIRequests:          u.APIRequests + v.APIRequests,
		WSMessages:           u.WSMessages + v.WSMessages,
		WSConnectionMinutes:  u.WSConnectionMinutes + v.WSConnectionMinutes,
		WSConnects:           u.WSConnects + v.WSConnects,
		WSRequests:           u.WSRequests + v.WSRequests,
		Invocations:          u.Invocations + v.Invocations,
		LambdaSeconds:        u.LambdaSeconds + v.LambdaSeconds,
		GBSeconds:            u.GBSeconds + v.GBSeconds,
		RRU:                  u.RRU + v.RRU,
		WRU:                  u.WRU + v.WRU,
		Events:               u.Events + v.Events,
		SchedulerInvocations: u.SchedulerInvocations + v.SchedulerInvocations,
		Mails:                u.Mails + v.Mails,
		KMSRequests:          u.KMSRequests + v.KMSRequests,
		KMSKeyMonths:         u.KMSKeyMonths + v.KMSKeyMonths,
		Traces:               u.Traces + v.Traces,
		LogBytes:             u.LogBytes + v.LogBytes,
		S3Requests:           u.S3Requests + v.S3Requests,
		TransferBytes:        u.TransferBytes + v.TransferBytes,
		KVSMessages:          u.KVSMessages + v.KVSMessages,
		KVSChannelMonths:     u.KVSChannelMonths + v.KVSChannelMonths,
		TURNMinutes:          u.TURNMinutes + v.TURNMinutes,
	}
}

// Times is u, f times over.
func (u Usage) Times(f float64) Usage {
	return Usage{
		APIRequests:          u.APIRequests * f,
		WSMessages:           u.WSMessages * f,
		WSConnectionMinutes:  u.WSConnectionMinutes * f,
		WSConnects:           u.WSConnects * f,
		WSRequests:           u.WSRequests * f,
		Invocations:          u.Invocations * f,
		LambdaSeconds:        u.LambdaSeconds * f,
		GBSeconds:            u.GBSeconds * f,
		RRU:                  u.RRU * f,
		WRU:                  u.WRU * f,
		Events:               u.Events * f,
		SchedulerInvocations: u.SchedulerInvocations * f,
		Mails:                u.Mails * f,
		KMSRequests:          u.KMSRequests * f,
		KMSKeyMonths:         u.KMSKeyMonths * f,
		Traces:               u.Traces * f,
		LogBytes:             u.LogBytes * f,
		S3Requests:           u.S3Requests * f,
		TransferBytes:        u.TransferBytes * f,
		KVSMessages:          u.KVSMessages * f,
		KVSChannelMonths:     u.KVSChannelMonths * f,
		TURNMinutes:          u.TURNMinutes * f,
	}
}

// XRaySampling is the share of requests Lambda's active tracing records beyond its
// reservoir (the default sampling rule: the first request each second, then 5 %). Usage
// counts each invocation at this share, its cost in a busy deployment; SampledTraces
// gives a whole day's count with the reservoir.
const XRaySampling = 0.05

// SampledTraces is how many of a day's invocations, spread evenly, the default sampling
// rule records: all of them while there is less than one a second, else one a second and
// 5 % of the rest.
func SampledTraces(invocationsPerDay float64) float64 {
	if invocationsPerDay <= secondsPerDay {
		return invocationsPerDay
	}
	return secondsPerDay + XRaySampling*(invocationsPerDay-secondsPerDay)
}

// BilledMillis is a Lambda duration as billed: rounded up to the next millisecond, at
// least one.
func BilledMillis(d time.Duration) float64 {
	ms := math.Ceil(float64(d) / float64(time.Millisecond))
	return max(ms, 1)
}

// AddInvocation counts one Lambda invocation that ran for d on a function with memMB of
// memory.
func (u *Usage) AddInvocation(memMB int, d time.Duration) {
	u.Invocations++
	u.LambdaSeconds += d.Seconds()
	u.GBSeconds += float64(memMB) / 1024 * BilledMillis(d) / 1000
	u.Traces += XRaySampling
}

// Line is one line of a bill.
type Line struct {
	Key      string  `json:"key"`
	Name     string  `json:"name"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	USD      float64 `json:"usd"`
}

// Bill is what a Usage costs at a price list.
type Bill struct {
	Lines []Line  `json:"lines"`
	Total float64 `json:"totalUsd"`
}

// GiB is the gigabyte of AWS bills (2^30 bytes).
const GiB = 1 << 30

// Bill prices u line by line, in the order of Prices.
func (pl PriceList) Bill(u Usage) Bill {
	qty := map[string]float64{
		PriceAPIRequest:  u.APIRequests,
		PriceWSMessage:   u.WSMessages,
		PriceWSMinute:    u.WSConnectionMinutes,
		PriceLambdaReq:   u.Invocations,
		PriceLambdaGBs:   u.GBSeconds,
		PriceDynamoRRU:   u.RRU,
		PriceDynamoWRU:   u.WRU,
		PriceEvent:       u.Events,
		PriceSchedule:    u.SchedulerInvocations,
		PriceMail:        u.Mails,
		PriceKMSRequest:  u.KMSRequests,
		PriceKMSKeyMonth: u.KMSKeyMonths,
		PriceTrace:       u.Traces,
		PriceLogGB:       u.LogBytes / GiB,
		PriceS3Request:   u.S3Requests,
		PriceTransferGB:  u.TransferBytes / GiB,
		PriceKVSMessage:  u.KVSMessages,
		PriceKVSChannel:  u.KVSChannelMonths,
		PriceTURNMinute:  u.TURNMinutes,
	}
	var b Bill
	for _, p := range Prices {
		q := qty[p.Key]
		usd := q * pl.unit(p.Key)
		b.Lines = append(b.Lines, Line{Key: p.Key, Name: p.Name, Quantity: q, Unit: p.Unit, USD: usd})
		b.Total += usd
	}
	return b
}
