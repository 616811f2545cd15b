//! Rollup inputs: what the gateway (or anyone) submits to the InputBox and the backend parses.

use alloc::vec::Vec;

use crate::codec::{Reader, Writer};
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::messages::{GatewayAuthorization, OwnerObjection, OwnershipStatement, RegistrarMessage};

/// Input format version.
pub const INPUT_VERSION: u8 = 2;
/// Largest input payload: `InputBox` refuses an ABI-encoded `EvmAdvance` above 65,536 bytes,
/// which is 292 bytes of fixed fields (selector, 8 words, length) plus the payload padded to
/// 32 bytes: 65,536 - 292 = 65,244, rounded down to a multiple of 32.
pub const MAX_INPUT_LEN: usize = 65_216;
/// Most messages in one input.
pub const MAX_MESSAGES: usize = 4_096;
/// Smallest encoded message (kind byte + gateway authorization).
const MIN_MESSAGE_LEN: usize = 22;

/// Message kind bytes.
pub mod kind {
    /// A sealed envelope of readings.
    pub const ENVELOPE: u8 = 1;
    /// A registrar-signed act.
    pub const REGISTRAR: u8 = 2;
    /// A gateway (de)authorization from the admin sender.
    pub const GATEWAY_AUTHORIZATION: u8 = 3;
    /// A device-signed ownership statement.
    pub const OWNERSHIP: u8 = 4;
    /// The current owner's objection to a pending ownership recovery.
    pub const OBJECTION: u8 = 5;
}

/// One message of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Readings of one device.
    Envelope(Envelope),
    /// A registrar's act.
    Registrar(RegistrarMessage),
    /// The admin (de)authorizes a gateway.
    GatewayAuthorization(GatewayAuthorization),
    /// A device binds an owner key.
    Ownership(OwnershipStatement),
    /// The owner objects to a pending recovery.
    Objection(OwnerObjection),
}

impl Message {
    /// The kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Envelope(_) => kind::ENVELOPE,
            Self::Registrar(_) => kind::REGISTRAR,
            Self::GatewayAuthorization(_) => kind::GATEWAY_AUTHORIZATION,
            Self::Ownership(_) => kind::OWNERSHIP,
            Self::Objection(_) => kind::OBJECTION,
        }
    }

    /// `kind u8 | body`.
    pub fn encode(&self, w: &mut Writer) -> Result<()> {
        w.u8(self.kind());
        match self {
            Self::Envelope(envelope) => {
                w.bytes(envelope.as_bytes());
            }
            Self::Registrar(message) => {
                w.bytes(&message.encode()?);
            }
            Self::GatewayAuthorization(authorization) => authorization.encode(w),
            Self::Ownership(statement) => statement.encode(w),
            Self::Objection(objection) => objection.encode(w),
        }
        Ok(())
    }

    /// Reads one message from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match r.u8()? {
            kind::ENVELOPE => Self::Envelope(Envelope::read(r)?),
            kind::REGISTRAR => Self::Registrar(RegistrarMessage::read(r)?),
            kind::GATEWAY_AUTHORIZATION => {
                Self::GatewayAuthorization(GatewayAuthorization::read(r)?)
            }
            kind::OWNERSHIP => Self::Ownership(OwnershipStatement::read(r)?),
            kind::OBJECTION => Self::Objection(OwnerObjection::read(r)?),
            _ => return Err(Error::UnknownKind),
        })
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> Result<usize> {
        let mut w = Writer::default();
        self.encode(&mut w)?;
        Ok(w.len())
    }
}

/// A rollup input: `version u8 | message count varint (1..=4096) | messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupInput {
    /// The messages, processed in order.
    pub messages: Vec<Message>,
}

impl RollupInput {
    /// Encodes the input; fails with [`Error::Oversize`] above [`MAX_INPUT_LEN`].
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.messages.is_empty() {
            return Err(Error::InvalidField);
        }
        if self.messages.len() > MAX_MESSAGES {
            return Err(Error::Oversize);
        }
        let mut w = Writer::with_capacity(1024);
        w.u8(INPUT_VERSION).varint(self.messages.len() as u64);
        for message in &self.messages {
            message.encode(&mut w)?;
        }
        if w.len() > MAX_INPUT_LEN {
            return Err(Error::Oversize);
        }
        Ok(w.finish())
    }

    /// Decodes an input, rejecting oversize inputs before reading them, and trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_INPUT_LEN {
            return Err(Error::Oversize);
        }
        let mut r = Reader::new(bytes);
        if r.u8()? != INPUT_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let count = r.count(MAX_MESSAGES, MIN_MESSAGE_LEN)?;
        if count == 0 {
            return Err(Error::InvalidField);
        }
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            messages.push(Message::read(&mut r)?);
        }
        r.finish()?;
        Ok(Self { messages })
    }

    /// Bytes an input of `messages` takes before any message: version and count.
    pub fn header_len(messages: usize) -> usize {
        let mut w = Writer::default();
        w.u8(INPUT_VERSION).varint(messages as u64);
        w.len()
    }
}
