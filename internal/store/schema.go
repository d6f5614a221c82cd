package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table's schema. The CDK stack builds the same table from these names, so change them
// only together with the infrastructure (see doc.go for what each item holds).
const (
	// KeyPK and KeySK are the table's partition and sort key, both strings.
	KeyPK = "pk"
	KeySK = "sk"
	// AttrTTL is the table's time-to-live attribute: a number, epoch seconds.
	AttrTTL = "ttl"

	// IndexByDue finds non-terminal sessions by the time the expiry handler has to look at
	// them. Partition AttrDuePK (string, always DuePartition), sort AttrDueAt (number,
	// epoch seconds); projection KEYS_ONLY. Sparse: terminal sessions lack AttrDuePK.
	IndexByDue   = "byDue"
	AttrDuePK    = "duePk"
	AttrDueAt    = "dueAt"
	DuePartition = "DUE"

	// IndexByAccount lists an account's sessions newest first. Partition AttrAccountPK
	// (string, "ACCOUNT#<account>"), sort AttrCreatedSK (string, "<createdAt>#<id>" with
	// a fixed-width UTC time); projection INCLUDE ByAccountAttributes(): never a sealed
	// secret, nor what checks a code or a token.
	IndexByAccount = "byAccount"
	AttrAccountPK  = "accountPk"
	AttrCreatedSK  = "createdSk"
)

// byAccountLeftOut are the attributes of a session item that byAccount does not project:
// the sealed password and agent token, and the hashes, MAC and nonce that check an invite
// token, a security code, an agent token or a pairing retry. Listings show none of them; an
// index that held them would be one more copy of them, kept where every listing reads.
// Also left out: the bookkeeping of TTL and byDue, which no listing reads.
var byAccountLeftOut = []string{
	"sealedPassword", "sealedAgentToken", "inviteTokenHash", "codeMac", "agentTokenHash", "pairNonce",
	AttrTTL, AttrDuePK, AttrDueAt,
}

// ByAccountAttributes are the non-key attributes byAccount projects (INCLUDE): every
// attribute of a session item and of a technician lock (the two kinds of item the index
// holds, and what ListSessions and TechnicianLocks read back), except byAccountLeftOut.
// The table's and the index's keys are projected anyway. Read from the items' struct tags,
// so that a new field is listed as it is added; the CDK stack projects the same list.
func ByAccountAttributes() []string {
	keys := []string{KeyPK, KeySK, AttrAccountPK, AttrCreatedSK}
	var out []string
	for _, item := range []any{sessionItem{}, lookupItem{}} {
		t := reflect.TypeOf(item)
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("dynamodbav"), ",")
			if name == "" || name == "-" || slices.Contains(keys, name) || slices.Contains(byAccountLeftOut, name) || slices.Contains(out, name) {
				continue
			}
			out = append(out, name)
		}
	}
	return out
}

// CreateTableInput is the table definition: on-demand billing, the two keys and both
// global secondary indexes. CreateTable also switches on TTL on AttrTTL.
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(KeyPK), AttributeType: s},
			{AttributeName: aws.String(KeySK), AttributeType: s},
			{AttributeName: aws.String(AttrDuePK), AttributeType: s},
			{AttributeName: aws.String(AttrDueAt), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String(AttrAccountPK), AttributeType: s},
			{AttributeName: aws.String(AttrCreatedSK), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(KeyPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(KeySK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{
				IndexName: aws.String(IndexByDue),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(AttrDuePK), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(AttrDueAt), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
			},
			{
				IndexName: aws.String(IndexByAccount),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(AttrAccountPK), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(AttrCreatedSK), KeyType: types.KeyTypeRange},
				},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ByAccountAttributes()},
			},
		},
	}
}

// CreateTable creates the table if it does not exist, waits until it and its indexes are
// active, and switches on TTL. It is idempotent, so local mode calls it at every start.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, CreateTableInput(table))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	if err := waitActive(ctx, client, table); err != nil {
		return err
	}
	if err := migrateByAccount(ctx, client, table); err != nil {
		return err
	}
	return enableTTL(ctx, client, table)
}

// migrateByAccount rebuilds byAccount when an existing table (local mode keeps its table
// between runs) projects other attributes than ByAccountAttributes: before issue 15 it
// projected ALL, sealed secrets included. An index's projection cannot be changed, so the
// index is deleted and created again, which DynamoDB fills from the table; listings
// meanwhile fail, for the moment this takes on DynamoDB Local.
func migrateByAccount(ctx context.Context, client *dynamodb.Client, table string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	in := CreateTableInput(table)
	want := in.GlobalSecondaryIndexes[slices.IndexFunc(in.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndex) bool {
		return aws.ToString(g.IndexName) == IndexByAccount
	})]
	for _, g := range out.Table.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) != IndexByAccount || g.Projection == nil {
			continue
		}
		have, wanted := slices.Sorted(slices.Values(g.Projection.NonKeyAttributes)), slices.Sorted(slices.Values(want.Projection.NonKeyAttributes))
		if g.Projection.ProjectionType == want.Projection.ProjectionType && slices.Equal(have, wanted) {
			return nil
		}
	}
	if _, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String(IndexByAccount)}}},
	}); err != nil {
		var missing *types.ResourceNotFoundException
		if !errors.As(err, &missing) {
			return fmt.Errorf("delete index %s of %s: %w", IndexByAccount, table, err)
		}
	}
	if err := waitActive(ctx, client, table); err != nil {
		return err
	}
	if _, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table),
		AttributeDefinitions: in.AttributeDefinitions,
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName: want.IndexName, KeySchema: want.KeySchema, Projection: want.Projection}}},
	}); err != nil {
		return fmt.Errorf("create index %s of %s: %w", IndexByAccount, table, err)
	}
	return waitActive(ctx, client, table)
}

// waitActive polls until the table and its indexes are ACTIVE. The SDK's waiter starts
// with a 20 s delay, far too long for DynamoDB Local, where a table is active at once.
func waitActive(ctx context.Context, client *dynamodb.Client, table string) error {
	delay := 50 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", table, err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, gsi := range out.Table.GlobalSecondaryIndexes {
			active = active && gsi.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s not active: %w", table, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func enableTTL(ctx context.Context, client *dynamodb.Client, table string) error {
	d, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", table, err)
	}
	if st := d.TimeToLiveDescription; st != nil &&
		(st.TimeToLiveStatus == types.TimeToLiveStatusEnabled || st.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	// Two processes starting at once can both see TTL disabled; the loser is told that
	// it is already enabled, which is what it wanted.
	if err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}
