// Package crypto seals single field values with SM4-GCM into a versioned,
// self-describing envelope, and computes HMAC-SM3 blind indexes for equality
// search over sealed columns.
//
// The envelope names the algorithm and the data key (DEK) that sealed it, and
// its associated data binds the value to the table, column and optional row
// key where it is stored: a value copied to another place fails to open. The
// byte layout is specified in docs/format.md, with vectors in
// testdata/format-vectors.json.
//
// The package knows nothing of SQL, roles or where keys live: callers obtain
// a [Key] from a key ring and describe the place of a value with a [Location].
// Raw key bytes go in through [NewKey] and [NewIndexRoot] and never come out.
//
// [Sealer] and [Opener] seal and open many values at once — a statement's
// values, a result batch's — with one multi-block SM4 pass per key for
// all their keystreams and tag masks, and the additional data each column
// shares hashed once; each envelope is the one [Key.Seal] or [Open] would
// write or accept. The GCM they (and single values up to 4 KiB) use is
// this package's, over gmsm's SM4, and is checked byte for byte against
// gmsm's own GCM.
package crypto
