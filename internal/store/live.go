package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/support"
)

// The live channel's items (doc.go): console tickets and console connections. The app's
// connection is an attribute of its session item.
const (
	prefixTicket  = "TICKET#"
	prefixLive    = "LIVE#"
	prefixConsole = "CONSOLE#"

	skTicket = "TICKET"
)

// LivePartitionPrefix begins the partition key of every account's console connections
// (LIVE#<account>). The CDK stack limits the Query of the functions that read them only
// for pushes (pairing, expiry, live) to these partitions, with dynamodb:LeadingKeys.
const LivePartitionPrefix = prefixLive

func ticketPK(hash []byte) string    { return prefixTicket + hex.EncodeToString(hash) }
func livePK(account string) string   { return prefixLive + keyEscaper.Replace(account) }
func consoleSK(connID string) string { return prefixConsole + keyEscaper.Replace(connID) }
func connFromSK(sk string) string    { return keyUnescaper.Replace(strings.TrimPrefix(sk, prefixConsole)) }

// ticketItem is a console's one-use ticket: who it is for, until when.
type ticketItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Kind       string `dynamodbav:"kind"`
	Account    string `dynamodbav:"account"`
	Technician string `dynamodbav:"technician"`
	Email      string `dynamodbav:"email,omitempty"`
	Name       string `dynamodbav:"name,omitempty"`
	Admin      bool   `dynamodbav:"admin,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"` // epoch milliseconds: a ticket lives a minute
	TTL        int64  `dynamodbav:"ttl"`
}

// consoleItem is a console tab's open live connection, in its account's partition.
type consoleItem struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	Kind       string `dynamodbav:"kind"`
	Technician string `dynamodbav:"technician"`
	Admin      bool   `dynamodbav:"admin,omitempty"`
	Since      string `dynamodbav:"since"`
	TTL        int64  `dynamodbav:"ttl"`
}

// PutTicket implements support.Store (one PutItem that must not overwrite).
func (s *Store) PutTicket(ctx context.Context, t support.Ticket) error {
	if len(t.Hash) == 0 || t.Technician.ID == "" || t.Technician.Account == "" || t.ExpiresAt.IsZero() {
		return errors.New("put ticket: hash, technician, account and expiry are required")
	}
	item, err := attributevalue.MarshalMap(ticketItem{
		PK: ticketPK(t.Hash), SK: skTicket, Kind: "ticket",
		Account: t.Technician.Account, Technician: t.Technician.ID, Email: t.Technician.Email, Name: t.Technician.Name,
		Admin: t.Technician.Admin, ExpiresAt: t.ExpiresAt.UnixMilli(), TTL: epochCeil(t.ExpiresAt),
	})
	if err != nil {
		return fmt.Errorf("put ticket: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": KeyPK}})
	if err != nil {
		return fmt.Errorf("put ticket: %w", err)
	}
	return nil
}

// TakeTicket implements support.Store (one DeleteItem, conditional on the ticket existing
// and not having expired, that returns the deleted item).
func (s *Store) TakeTicket(ctx context.Context, hash []byte, now time.Time) (support.Ticket, error) {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(ticketPK(hash), skTicket),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #exp > :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyPK, "#exp": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	var condFailed *types.ConditionalCheckFailedException
	if errors.As(err, &condFailed) {
		return support.Ticket{}, fmt.Errorf("ticket: %w", support.ErrNotFound)
	}
	if err != nil {
		return support.Ticket{}, fmt.Errorf("take ticket: %w", err)
	}
	var it ticketItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return support.Ticket{}, fmt.Errorf("take ticket: %w", err)
	}
	return support.Ticket{
		Hash: hash,
		Technician: support.Technician{ID: it.Technician, Email: it.Email, Name: it.Name,
			Account: it.Account, Admin: it.Admin},
		ExpiresAt: time.UnixMilli(it.ExpiresAt).UTC(),
	}, nil
}

// PutConsole implements support.Store (one PutItem).
func (s *Store) PutConsole(ctx context.Context, c support.ConsoleConnection) error {
	if c.ID == "" || c.Account == "" || c.Technician == "" || c.Until.IsZero() {
		return errors.New("put console connection: id, account, technician and until are required")
	}
	item, err := attributevalue.MarshalMap(consoleItem{
		PK: livePK(c.Account), SK: consoleSK(c.ID), Kind: "console",
		Technician: c.Technician, Admin: c.Admin, Since: formatTime(c.Since), TTL: epochCeil(c.Until),
	})
	if err != nil {
		return fmt.Errorf("put console connection: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put console connection: %w", err)
	}
	return nil
}

// DeleteConsole implements support.Store (one DeleteItem).
func (s *Store) DeleteConsole(ctx context.Context, account, connectionID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(livePK(account), consoleSK(connectionID))}); err != nil {
		return fmt.Errorf("delete console connection: %w", err)
	}
	return nil
}

// Consoles implements support.Store (one strongly consistent Query of the account's live
// partition per 1 MB page). Connections past their ttl are left out: storage deletes them
// only eventually.
func (s *Store) Consoles(ctx context.Context, account string) ([]support.ConsoleConnection, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :console)"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyPK, "#sk": KeySK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(livePK(account)), ":console": str(prefixConsole)},
	})
	now := s.clock.Now().Unix()
	var out []support.ConsoleConnection
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("console connections of %s: %w", account, err)
		}
		for _, item := range page.Items {
			var it consoleItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("console connections of %s: %w", account, err)
			}
			if it.TTL != 0 && it.TTL <= now {
				continue
			}
			since, err := parseTime(it.Since)
			if err != nil {
				return nil, fmt.Errorf("console connections of %s: %w", account, err)
			}
			out = append(out, support.ConsoleConnection{ID: connFromSK(it.SK), Account: account, Technician: it.Technician,
				Admin: it.Admin, Since: since, Until: time.Unix(it.TTL, 0).UTC()})
		}
	}
	return out, nil
}
