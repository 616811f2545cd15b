//! The `cartesi_*` JSON-RPC requests of a Cartesi Rollups Node v2 as a type: the node
//! (`witness-node`) parses a request body into [`Request`]s and only executes them; the client
//! (`witness-node-client`) builds its requests as [`Call`]s and sends their encoding. One
//! contract between the two processes, written once.
//!
//! Parsing answers the errors the node answers, with the same JSON-RPC codes and messages
//! ([`Error::code`]), in the same order: a malformed request, then malformed parameters, then
//! an application this node does not serve, then an unknown method, then the method's own
//! parameters. Parameters a method does not use are still checked for their type (and, for a
//! list method, every filter for its format), and otherwise ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The largest page a list method answers.
pub const MAX_LIMIT: u64 = 10_000;
/// The page size when a list call names none.
pub const DEFAULT_LIMIT: u64 = 50;

/// Why a body or one of its calls is refused; [`Error::code`] is its JSON-RPC code and its
/// text the message the node answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is not JSON.
    #[error("parse error: {0}")]
    Parse(String),
    /// The body is an empty batch.
    #[error("empty batch")]
    EmptyBatch,
    /// The call is not a JSON-RPC 2.0 request (no `method`, or no `"jsonrpc": "2.0"`).
    #[error("invalid request")]
    InvalidRequest,
    /// No such method.
    #[error("method {0} not found")]
    MethodNotFound(String),
    /// A parameter is unknown, malformed or missing.
    #[error("bad request: {0}")]
    InvalidParams(String),
    /// `application` names an application this node does not serve.
    #[error("application {0} not found")]
    UnknownApplication(String),
}

impl Error {
    /// The JSON-RPC 2.0 error code.
    pub fn code(&self) -> i64 {
        match self {
            Error::Parse(_) => -32700,
            Error::EmptyBatch | Error::InvalidRequest => -32600,
            Error::MethodNotFound(_) => -32601,
            Error::InvalidParams(_) => -32602,
            // The code the Cartesi node uses for a missing resource.
            Error::UnknownApplication(_) => -32001,
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParams(message.into())
}

/// A page of a list method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items asked for, within `1..=MAX_LIMIT`.
    pub limit: u64,
    /// Items skipped.
    pub offset: u64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// The filters of the list methods; `None` means no filter. Each list method uses those that
/// apply to what it lists (`cartesi_listInputs`: epoch and sender; `cartesi_listOutputs`:
/// epoch, input, output type and voucher address; `cartesi_listReports`: epoch and input;
/// `cartesi_listEpochs`: status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only items of this epoch.
    pub epoch_index: Option<u64>,
    /// Only items of this input.
    pub input_index: Option<u64>,
    /// Only inputs from this sender.
    pub sender: Option<[u8; 20]>,
    /// Only outputs whose ABI encoding starts with this selector.
    pub output_type: Option<[u8; 4]>,
    /// Only vouchers to this destination.
    pub voucher_address: Option<[u8; 20]>,
    /// Only inputs or epochs of this status.
    pub status: Option<String>,
}

/// One method with its parsed parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `cartesi_getChainId`.
    GetChainId,
    /// `cartesi_getNodeVersion`.
    GetNodeVersion,
    /// `cartesi_getProcessedInputCount`.
    GetProcessedInputCount,
    /// `cartesi_getApplication`.
    GetApplication,
    /// `cartesi_listApplications` (one application; its page is not read).
    ListApplications,
    /// `cartesi_listInputs`.
    ListInputs {
        /// The page.
        page: Page,
        /// The filters.
        filter: Filter,
    },
    /// `cartesi_getInput`.
    GetInput {
        /// The input.
        input_index: u64,
    },
    /// `cartesi_listOutputs`.
    ListOutputs {
        /// The page.
        page: Page,
        /// The filters.
        filter: Filter,
    },
    /// `cartesi_getOutput`.
    GetOutput {
        /// The global output index.
        output_index: u64,
    },
    /// `cartesi_listReports`.
    ListReports {
        /// The page.
        page: Page,
        /// The filters.
        filter: Filter,
    },
    /// `cartesi_getReport`.
    GetReport {
        /// The global report index.
        report_index: u64,
    },
    /// `cartesi_listEpochs`.
    ListEpochs {
        /// The page.
        page: Page,
        /// The filters.
        filter: Filter,
    },
    /// `cartesi_getEpoch`.
    GetEpoch {
        /// The epoch.
        epoch_index: u64,
    },
    /// `rpc.discover`: the node's OpenRPC document.
    Discover,
}

impl Call {
    /// The JSON-RPC method name.
    pub fn method(&self) -> &'static str {
        match self {
            Call::GetChainId => "cartesi_getChainId",
            Call::GetNodeVersion => "cartesi_getNodeVersion",
            Call::GetProcessedInputCount => "cartesi_getProcessedInputCount",
            Call::GetApplication => "cartesi_getApplication",
            Call::ListApplications => "cartesi_listApplications",
            Call::ListInputs { .. } => "cartesi_listInputs",
            Call::GetInput { .. } => "cartesi_getInput",
            Call::ListOutputs { .. } => "cartesi_listOutputs",
            Call::GetOutput { .. } => "cartesi_getOutput",
            Call::ListReports { .. } => "cartesi_listReports",
            Call::GetReport { .. } => "cartesi_getReport",
            Call::ListEpochs { .. } => "cartesi_listEpochs",
            Call::GetEpoch { .. } => "cartesi_getEpoch",
            Call::Discover => "rpc.discover",
        }
    }

    /// The named parameters (indices as `0x` quantities, bytes as `0x` hex).
    pub fn params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        let mut put = |name: &str, value: Value| {
            params.insert(name.into(), value);
        };
        match self {
            Call::ListInputs { page, filter }
            | Call::ListOutputs { page, filter }
            | Call::ListReports { page, filter }
            | Call::ListEpochs { page, filter } => {
                put("limit", page.limit.into());
                put("offset", page.offset.into());
                let Filter {
                    epoch_index,
                    input_index,
                    sender,
                    output_type,
                    voucher_address,
                    status,
                } = filter;
                let quantities = [("epoch_index", epoch_index), ("input_index", input_index)];
                for (name, value) in quantities {
                    if let Some(n) = value {
                        put(name, quantity(*n).into());
                    }
                }
                let bytes = [
                    ("sender", sender.as_ref().map(|a| &a[..])),
                    ("output_type", output_type.as_ref().map(|t| &t[..])),
                    ("voucher_address", voucher_address.as_ref().map(|a| &a[..])),
                ];
                for (name, value) in bytes {
                    if let Some(b) = value {
                        put(name, hex0x(b).into());
                    }
                }
                if let Some(status) = status {
                    put("status", status.clone().into());
                }
            }
            Call::GetInput { input_index: n } => put("input_index", quantity(*n).into()),
            Call::GetOutput { output_index: n } => put("output_index", quantity(*n).into()),
            Call::GetReport { report_index: n } => put("report_index", quantity(*n).into()),
            Call::GetEpoch { epoch_index: n } => put("epoch_index", quantity(*n).into()),
            Call::GetChainId
            | Call::GetNodeVersion
            | Call::GetProcessedInputCount
            | Call::GetApplication
            | Call::ListApplications
            | Call::Discover => {}
        }
        params
    }

    fn parse(method: &str, p: &Params) -> Result<Call, Error> {
        let list = |make: fn(Page, Filter) -> Call| Ok(make(p.page()?, p.filter()?));
        Ok(match method {
            "cartesi_getChainId" => Call::GetChainId,
            "cartesi_getNodeVersion" => Call::GetNodeVersion,
            "cartesi_getProcessedInputCount" => Call::GetProcessedInputCount,
            "cartesi_getApplication" => Call::GetApplication,
            "cartesi_listApplications" => Call::ListApplications,
            "cartesi_listInputs" => return list(|page, filter| Call::ListInputs { page, filter }),
            "cartesi_getInput" => Call::GetInput {
                input_index: required(&p.input_index, "input_index")?,
            },
            "cartesi_listOutputs" => {
                return list(|page, filter| Call::ListOutputs { page, filter });
            }
            "cartesi_getOutput" => Call::GetOutput {
                output_index: required(&p.output_index, "output_index")?,
            },
            "cartesi_listReports" => {
                return list(|page, filter| Call::ListReports { page, filter });
            }
            "cartesi_getReport" => Call::GetReport {
                report_index: required(&p.report_index, "report_index")?,
            },
            "cartesi_listEpochs" => return list(|page, filter| Call::ListEpochs { page, filter }),
            "cartesi_getEpoch" => Call::GetEpoch {
                epoch_index: required(&p.epoch_index, "epoch_index")?,
            },
            "rpc.discover" => Call::Discover,
            other => return Err(Error::MethodNotFound(other.into())),
        })
    }
}

/// One JSON-RPC call.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The caller's id, echoed in the answer; `None` for a notification, which gets no answer.
    pub id: Option<Value>,
    /// The application named by the caller (this node serves one: naming it is optional).
    pub application: Option<String>,
    /// The method and its parameters.
    pub call: Call,
}

/// A call the node refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The call's id, if it has one.
    pub id: Option<Value>,
    /// Why.
    pub error: Error,
}

impl Rejected {
    /// The id to answer the error with; `None`: no answer (a notification). A request too
    /// malformed to tell whether it is a notification is answered, with a `null` id if it has
    /// none.
    pub fn answer_id(&self) -> Option<Value> {
        match self.error {
            Error::InvalidRequest => Some(self.id.clone().unwrap_or(Value::Null)),
            _ => self.id.clone(),
        }
    }
}

impl Request {
    /// A call with id `id` that names no application.
    pub fn new(id: impl Into<Value>, call: Call) -> Self {
        Self {
            id: Some(id.into()),
            application: None,
            call,
        }
    }

    /// Parses one JSON-RPC 2.0 call. `serves` tells whether an `application` parameter names
    /// the application this node serves (its name or address).
    ///
    /// Named parameters are the norm; `["app"]` (the application) and `[{...}]` are accepted,
    /// as are positional parameters in the order of the named ones.
    pub fn parse(request: Value, serves: impl Fn(&str) -> bool) -> Result<Self, Rejected> {
        let Value::Object(mut request) = request else {
            return Err(Rejected {
                id: None,
                error: Error::InvalidRequest,
            });
        };
        let id = request.remove("id");
        let reject = |id, error| Err(Rejected { id, error });
        let is_v2 = request.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
        let method = match request.remove("method") {
            Some(Value::String(method)) if is_v2 => method,
            _ => return reject(id, Error::InvalidRequest),
        };
        let params = normalize_params(request.remove("params").unwrap_or(Value::Null));
        let params: Params = match serde_json::from_value(params) {
            Ok(params) => params,
            Err(e) => return reject(id, invalid(format!("invalid params: {e}"))),
        };
        if let Some(app) = &params.application
            && !serves(app)
        {
            return reject(id, Error::UnknownApplication(app.clone()));
        }
        match Call::parse(&method, &params) {
            Ok(call) => Ok(Request {
                id,
                application: params.application,
                call,
            }),
            Err(error) => reject(id, error),
        }
    }

    /// The JSON-RPC 2.0 request, with named parameters.
    pub fn to_value(&self) -> Value {
        let mut params = self.call.params();
        if let Some(app) = &self.application {
            params.insert("application".into(), app.clone().into());
        }
        let mut request = Map::new();
        request.insert("jsonrpc".into(), "2.0".into());
        if let Some(id) = &self.id {
            request.insert("id".into(), id.clone());
        }
        request.insert("method".into(), self.call.method().into());
        request.insert("params".into(), params.into());
        request.into()
    }
}

/// A request body: one call, or a batch of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// One call.
    Single(Result<Request, Rejected>),
    /// A non-empty batch, in order.
    Batch(Vec<Result<Request, Rejected>>),
}

impl Body {
    /// Parses a body; the errors are those of the body as a whole (answered with a `null` id).
    pub fn parse(body: &[u8], serves: impl Fn(&str) -> bool) -> Result<Self, Error> {
        match serde_json::from_slice::<Value>(body) {
            Err(e) => Err(Error::Parse(e.to_string())),
            Ok(Value::Array(calls)) if calls.is_empty() => Err(Error::EmptyBatch),
            Ok(Value::Array(calls)) => Ok(Body::Batch(
                calls
                    .into_iter()
                    .map(|call| Request::parse(call, &serves))
                    .collect(),
            )),
            Ok(call) => Ok(Body::Single(Request::parse(call, serves))),
        }
    }
}

/// `["app"]` names the application; `[{...}]` holds the named parameters; none is `{}`.
fn normalize_params(params: Value) -> Value {
    match params {
        Value::Array(mut items) if items.len() == 1 => match items.remove(0) {
            Value::String(app) => {
                let mut named = Map::new();
                named.insert("application".into(), app.into());
                named.into()
            }
            other => other,
        },
        Value::Null => Value::Object(Map::new()),
        other => other,
    }
}

/// Every parameter of every method, as sent. Its name and field order are in the messages of
/// its errors (`expected struct Params`, `expected one of ...`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    application: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
    epoch_index: Option<String>,
    input_index: Option<String>,
    output_index: Option<String>,
    report_index: Option<String>,
    sender: Option<String>,
    output_type: Option<String>,
    voucher_address: Option<String>,
    status: Option<String>,
    /// Accepted for compatibility; the node always answers data decoded where it can be.
    #[serde(rename = "decode")]
    _decode: Option<bool>,
}

impl Params {
    fn page(&self) -> Result<Page, Error> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid(format!("limit must be within 1..={MAX_LIMIT}")));
        }
        Ok(Page {
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }

    fn filter(&self) -> Result<Filter, Error> {
        let output_type = self
            .output_type
            .as_deref()
            .map(|t| {
                <[u8; 4]>::try_from(parse_hex("output_type", t)?.as_slice())
                    .map_err(|_| invalid("output_type: expected 4 bytes"))
            })
            .transpose()?;
        Ok(Filter {
            epoch_index: index(&self.epoch_index, "epoch_index")?,
            input_index: index(&self.input_index, "input_index")?,
            sender: address(&self.sender, "sender")?,
            output_type,
            voucher_address: address(&self.voucher_address, "voucher_address")?,
            status: self.status.clone(),
        })
    }
}

fn index(value: &Option<String>, name: &str) -> Result<Option<u64>, Error> {
    value
        .as_deref()
        .map(|v| parse_quantity(name, v))
        .transpose()
}

fn required(value: &Option<String>, name: &str) -> Result<u64, Error> {
    index(value, name)?.ok_or_else(|| invalid(format!("{name} is required")))
}

/// An address: 40 hex digits in any case, `0x` (or `0X`) before them or not.
fn address(value: &Option<String>, name: &str) -> Result<Option<[u8; 20]>, Error> {
    value
        .as_deref()
        .map(|v| {
            let digits = strip_0x(v);
            let mut address = [0; 20];
            match hex::decode_to_slice(digits, &mut address) {
                Ok(()) => Ok(address),
                Err(_) => Err(invalid(format!("{name}: bad address"))),
            }
        })
        .transpose()
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

/// A `0x` quantity such as `"0x1a"` (`0x`, lowercase, then what `u64::from_str_radix` reads
/// in base 16).
fn parse_quantity(field: &str, s: &str) -> Result<u64, Error> {
    let digits = s
        .strip_prefix("0x")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| invalid(format!("{field}: expected a 0x hex quantity")))?;
    u64::from_str_radix(digits, 16).map_err(|e| invalid(format!("{field}: {e}")))
}

/// `0x`-prefixed hex data (an even number of digits; `0x` alone is empty). The messages are
/// those of the hex decoder the node used before this crate, which also skips a second `0x`
/// after the first (`0x0x01` is `[1]`).
fn parse_hex(field: &str, s: &str) -> Result<Vec<u8>, Error> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| invalid(format!("{field}: expected 0x-prefixed hex")))?;
    if digits.len() % 2 != 0 {
        return Err(invalid(format!("{field}: odd number of digits")));
    }
    let digits = strip_0x(digits);
    if let Some((at, byte)) = digits
        .bytes()
        .enumerate()
        .find(|(_, b)| !b.is_ascii_hexdigit())
    {
        let c = char::from(byte);
        return Err(invalid(format!(
            "{field}: invalid character {c:?} at position {at}"
        )));
    }
    hex::decode(digits).map_err(|e| invalid(format!("{field}: {e}")))
}

fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests;
