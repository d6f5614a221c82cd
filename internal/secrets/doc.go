// Package secrets makes and protects the product's secrets: random tokens and session
// ids, the local key file, sealing of the technician's password (AES-256-GCM, locally
// with a key file, in AWS with a KMS data key: the envelope format is here, the KMS calls
// in internal/secrets/awskms), the keyed MAC of security codes, and what binds the
// pairing secrets to their invitation (binding.go). It links no AWS SDK
// client: every function links this package, only two of them call KMS.
//
// Nothing here logs, and no error message carries a secret.
package secrets
