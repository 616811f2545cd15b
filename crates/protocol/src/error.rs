//! Every reason the protocol rejects something, as one typed error.

/// Why a message was rejected. The `code` of each variant is stable and appears in
/// reports, test vectors and API errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field was complete.
    #[error("truncated: the message ends inside a field")]
    Truncated,
    /// Bytes remain after the last field.
    #[error("trailing bytes after the message")]
    TrailingBytes,
    /// A length, count or size exceeds its documented limit.
    #[error("oversize: a length or count exceeds its limit")]
    Oversize,
    /// A varint uses more bytes than needed, or overflows 64 bits.
    #[error("non-canonical varint")]
    NonCanonicalVarint,
    /// A field holds a value the format does not allow (a flag other than 0/1, a count of 0, ...).
    #[error("invalid field value")]
    InvalidField,
    /// The format version is not one this implementation reads.
    #[error("unsupported format version")]
    UnsupportedVersion,
    /// The cipher suite id is not one this implementation reads.
    #[error("unsupported cipher suite")]
    UnsupportedSuite,
    /// The message kind byte is unknown.
    #[error("unknown message kind")]
    UnknownKind,
    /// A public key is not a valid encoding (or is a weak Ed25519 key).
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The signature does not verify under the expected key over the expected bytes.
    #[error("bad signature")]
    BadSignature,
    /// HPKE decapsulation or AEAD decryption failed: wrong key, altered ciphertext or a
    /// ciphertext moved under another header.
    #[error("decryption failed")]
    DecryptionFailed,
    /// HPKE encryption failed (only on invalid key material).
    #[error("encryption failed")]
    EncryptionFailed,
    /// The plaintext decrypted but its readings do not match the header (count, timestamps).
    #[error("malformed plaintext")]
    MalformedPlaintext,
    /// A reading value is out of range (odometer or engine time overflow).
    #[error("reading value out of range")]
    ReadingOutOfRange,
    /// A commitment opening does not match the commitment.
    #[error("commitment opening does not match")]
    CommitmentMismatch,
    /// A UTF-8 text field is not valid UTF-8.
    #[error("invalid UTF-8 text")]
    InvalidText,
}

impl Error {
    /// Stable machine-readable name (the variant name in snake case).
    pub const fn code(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::TrailingBytes => "trailing_bytes",
            Self::Oversize => "oversize",
            Self::NonCanonicalVarint => "non_canonical_varint",
            Self::InvalidField => "invalid_field",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnsupportedSuite => "unsupported_suite",
            Self::UnknownKind => "unknown_kind",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::BadSignature => "bad_signature",
            Self::DecryptionFailed => "decryption_failed",
            Self::EncryptionFailed => "encryption_failed",
            Self::MalformedPlaintext => "malformed_plaintext",
            Self::ReadingOutOfRange => "reading_out_of_range",
            Self::CommitmentMismatch => "commitment_mismatch",
            Self::InvalidText => "invalid_text",
        }
    }
}

/// Result with the protocol [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
