//! Wire types of a paid call: what a caller sends to a gateway, what a gateway sends to a
//! provider node, and what comes back.
//!
//! # Hashes
//! A ticket commits to the input by [`CallInput::hash`], and a receipt commits to the output by
//! [`CallOutput::hash`]. Both are SHA-256 over a canonical byte form with a domain prefix, so the
//! same tensor hashes the same whether it travelled as JSON numbers or as base64 little-endian
//! bytes, and an image hashes over its file bytes exactly as sent (the node decodes it).
//!
//! Output canonical form (`verity/output/v1`): a tag byte (0 = integer path, 1 = float path),
//! the shape as a little-endian `u32` count followed by little-endian `u32` dimensions, for the
//! integer path the `u32` fraction bits, then every value little-endian (`i32` or `f32`).

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use verity_ledger::{
    Address, Amount, Bps, CallId, Hash32, Mode, ModelId, PublicKeyBytes, Receipt, SignatureBytes,
    Ticket, TimeMs, crypto::sha256, state::Call,
};

use verity_ledger::crypto::{image_input_hash, tensor_input_hash};

/// The input of one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallInput {
    /// A tensor of the model's input shape, row-major, as JSON numbers.
    Tensor {
        /// The values.
        values: Vec<f32>,
    },
    /// The same as [`CallInput::Tensor`], as base64 of little-endian `f32` bytes (can carry
    /// values JSON cannot, such as NaN, which the node then refuses by name).
    TensorF32le {
        /// Base64 (standard alphabet, padded).
        base64: String,
    },
    /// A PNG or JPEG image; the node decodes it and resizes it to the model's input.
    Image {
        /// Base64 of the file bytes (standard alphabet, padded).
        base64: String,
    },
}

/// The decoded payload of a [`CallInput`].
#[derive(Clone, Debug, PartialEq)]
pub enum InputPayload {
    /// Little-endian `f32` bytes of a tensor.
    TensorF32le(Vec<u8>),
    /// Image file bytes.
    Image(Vec<u8>),
}

impl CallInput {
    /// A tensor input.
    pub fn tensor(values: Vec<f32>) -> Self {
        CallInput::Tensor { values }
    }

    /// An image input from its file bytes.
    pub fn image(bytes: &[u8]) -> Self {
        CallInput::Image {
            base64: BASE64.encode(bytes),
        }
    }

    /// Decode the transport form (base64) into bytes.
    pub fn payload(&self) -> Result<InputPayload, String> {
        let decode = |s: &str| {
            BASE64
                .decode(s)
                .map_err(|e| format!("input base64 is invalid ({e}); send standard padded base64"))
        };
        Ok(match self {
            CallInput::Tensor { values } => {
                InputPayload::TensorF32le(values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
            CallInput::TensorF32le { base64 } => {
                let bytes = decode(base64)?;
                if bytes.len() % 4 != 0 {
                    return Err(format!(
                        "tensor bytes have length {}, not a multiple of 4; send little-endian f32 values",
                        bytes.len()
                    ));
                }
                InputPayload::TensorF32le(bytes)
            }
            CallInput::Image { base64 } => InputPayload::Image(decode(base64)?),
        })
    }

    /// The hash a ticket carries as `input_hash`.
    pub fn hash(&self) -> Result<Hash32, String> {
        Ok(self.payload()?.hash())
    }
}

impl InputPayload {
    /// SHA-256 of the domain-prefixed canonical bytes.
    pub fn hash(&self) -> Hash32 {
        match self {
            InputPayload::TensorF32le(bytes) => tensor_input_hash(bytes),
            InputPayload::Image(bytes) => image_input_hash(bytes),
        }
    }

    /// Size of the payload in bytes.
    pub fn len(&self) -> usize {
        match self {
            InputPayload::TensorF32le(b) | InputPayload::Image(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which executor produced an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecPath {
    /// The deterministic integer program (bit-identical everywhere; what audits and proofs check).
    Integer,
    /// The float ONNX model run by tract (for models without an integer program).
    Float,
}

/// The values of an output tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dtype", rename_all = "snake_case")]
pub enum OutputValues {
    /// Fixed-point integers; the real value is `value / 2^frac_bits`.
    I32 {
        /// The values.
        values: Vec<i32>,
        /// Fraction bits of the fixed-point scale.
        frac_bits: u32,
    },
    /// Floats.
    F32 {
        /// The values.
        values: Vec<f32>,
    },
}

/// A model's answer to one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallOutput {
    /// The executor that produced it.
    pub path: ExecPath,
    /// Shape of the output tensor, e.g. `[1, 10]`.
    pub shape: Vec<u32>,
    /// The values, row-major.
    pub values: OutputValues,
}

impl CallOutput {
    /// The values as floats (integer values divided by their scale).
    pub fn as_f32(&self) -> Vec<f32> {
        match &self.values {
            OutputValues::I32 { values, frac_bits } => {
                let scale = (1u64 << frac_bits) as f32;
                values.iter().map(|&v| v as f32 / scale).collect()
            }
            OutputValues::F32 { values } => values.clone(),
        }
    }

    /// Index of the largest value (the first on ties): the predicted class of a classifier.
    pub fn argmax(&self) -> Option<usize> {
        let scores = self.as_f32();
        let mut best: Option<usize> = None;
        for (i, v) in scores.iter().enumerate() {
            if best.is_none_or(|b| *v > scores[b]) {
                best = Some(i);
            }
        }
        best
    }

    /// The canonical bytes described in the module documentation.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 4 * self.shape.len() + 4 * self.len());
        let tag = match self.path {
            ExecPath::Integer => 0u8,
            ExecPath::Float => 1u8,
        };
        out.push(tag);
        out.extend_from_slice(&(self.shape.len() as u32).to_le_bytes());
        for d in &self.shape {
            out.extend_from_slice(&d.to_le_bytes());
        }
        match &self.values {
            OutputValues::I32 { values, frac_bits } => {
                out.extend_from_slice(&frac_bits.to_le_bytes());
                values
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
            OutputValues::F32 { values } => values
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        }
        out
    }

    /// The hash a receipt carries as `output_hash`.
    pub fn hash(&self) -> Hash32 {
        sha256(&[
            verity_ledger::crypto::OUTPUT_DOMAIN,
            &self.canonical_bytes(),
        ])
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.values {
            OutputValues::I32 { values, .. } => values.len(),
            OutputValues::F32 { values } => values.len(),
        }
    }

    /// Whether the output has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `POST /v1/infer` on a provider node: serve one call under a caller-signed ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferRequest {
    /// The ticket, naming this node.
    pub ticket: Ticket,
    /// The caller's signature over the ticket.
    pub ticket_signature: SignatureBytes,
    /// The caller's public key; its address must be the ticket's caller.
    pub caller_key: PublicKeyBytes,
    /// The input; its hash must be the ticket's `input_hash`.
    pub input: CallInput,
}

/// A provider node's answer: the output and the receipt it will submit for payment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferResponse {
    /// The call id (ticket hash).
    pub call_id: CallId,
    /// The serving node.
    pub node: Address,
    /// The model's output.
    pub output: CallOutput,
    /// Predicted class (argmax of the output).
    pub label: Option<u32>,
    /// The node's receipt; its `output_hash` is `output.hash()`.
    pub receipt: Receipt,
    /// The node's signature over the receipt.
    pub receipt_signature: SignatureBytes,
    /// Time spent running the model, in microseconds.
    pub compute_us: u64,
}

/// How a call's price divides, as settlement will pay it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceBreakdown {
    /// Total charged to the caller: the node's price for the mode.
    pub price: Amount,
    /// To the node operator.
    pub node: Amount,
    /// To the model owner.
    pub royalty: Amount,
    /// To the verifier/auditor pool.
    pub verifier: Amount,
    /// To the protocol treasury.
    pub protocol: Amount,
    /// How much more this mode costs at this node than its `signed` price (the verification
    /// surcharge; 0 for `signed`).
    pub mode_surcharge: Amount,
}

/// A node able to serve a quoted call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteCandidate {
    /// The node's address (a ticket's `node`).
    pub node: Address,
    /// Its inference endpoint.
    pub endpoint: String,
    /// Itemized price.
    pub price: PriceBreakdown,
}

/// `GET /v1/quote?model=…&mode=…` on a gateway: who can serve the call and at what price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The model.
    pub model: ModelId,
    /// The mode.
    pub mode: Mode,
    /// The model's royalty rate.
    pub royalty_bps: Bps,
    /// Time of the last finalized block; ticket expiries are judged against block time.
    pub chain_time_ms: TimeMs,
    /// Longest ticket lifetime the ledger accepts.
    pub max_ticket_lifetime_ms: TimeMs,
    /// Candidates in the order the gateway will try them.
    pub candidates: Vec<QuoteCandidate>,
}

/// A ticket with the caller's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// The caller's signature.
    pub signature: SignatureBytes,
}

/// `POST /v1/call` on a gateway.
///
/// `tickets` are alternatives for one logical call: one per candidate node, all with the same
/// nonce, so the ledger pays at most one of them. The gateway tries them in order and stops at
/// the first node that answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRequest {
    /// The caller's public key.
    pub caller_key: PublicKeyBytes,
    /// The input (same for every ticket).
    pub input: CallInput,
    /// Alternative tickets, in the order to try them.
    pub tickets: Vec<SignedTicket>,
}

/// An attempt the gateway gave up on before a node answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// The node tried.
    pub node: Address,
    /// Stable code, e.g. `node_unavailable`.
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// The gateway's answer to `POST /v1/call`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallResponse {
    /// The node's answer and receipt.
    pub result: InferResponse,
    /// Itemized price of the call.
    pub price: PriceBreakdown,
    /// Nodes tried before the one that answered (the caller pays none of them).
    pub failed_attempts: Vec<FailedAttempt>,
    /// Where to follow settlement: `GET` returns a [`CallStatusView`].
    pub status_url: String,
}

/// Where a call is in its life, as a gateway reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Not on the ledger yet: the node batches receipts and submits them shortly.
    AwaitingSubmission,
    /// Accepted and paid from escrow; settles when its challenge window closes.
    Pending,
    /// Sampled for audit; settles or is refunded when the audit closes.
    UnderAudit,
    /// A zk-mode call waiting for its proof.
    AwaitingProof,
    /// Paid out (the ledger's record says on what evidence).
    Settled,
    /// Refunded to the caller; the node was at fault (the record names the offence).
    Refunded,
}

impl CallState {
    /// The state of a call the ledger has recorded.
    pub fn of(status: &verity_ledger::state::CallStatus) -> Self {
        use verity_ledger::state::CallStatus;
        match status {
            CallStatus::Pending => CallState::Pending,
            CallStatus::Sampled => CallState::UnderAudit,
            CallStatus::ProofDue { .. } => CallState::AwaitingProof,
            CallStatus::Settled { .. } => CallState::Settled,
            CallStatus::Refunded { .. } => CallState::Refunded,
        }
    }
}

/// `GET /v1/calls/{id}` on a gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStatusView {
    /// The call id.
    pub call_id: CallId,
    /// Its state.
    pub state: CallState,
    /// The ledger's record, once accepted.
    pub call: Option<Call>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_hashes_the_same_in_both_encodings() {
        let values = vec![0.0f32, 0.5, 1.0, -2.25];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let json = CallInput::tensor(values);
        let raw = CallInput::TensorF32le {
            base64: BASE64.encode(&bytes),
        };
        assert_eq!(json.hash().unwrap(), raw.hash().unwrap());
        let image = CallInput::image(&bytes);
        assert_ne!(json.hash().unwrap(), image.hash().unwrap());
    }

    #[test]
    fn malformed_tensor_bytes_are_refused_with_the_fix() {
        let err = CallInput::TensorF32le {
            base64: BASE64.encode([1u8, 2, 3]),
        }
        .payload()
        .unwrap_err();
        assert!(err.contains("multiple of 4"), "{err}");
        let err = CallInput::Image {
            base64: "***".into(),
        }
        .payload()
        .unwrap_err();
        assert!(err.contains("base64"), "{err}");
    }

    #[test]
    fn output_hash_binds_path_shape_scale_and_values() {
        let out = CallOutput {
            path: ExecPath::Integer,
            shape: vec![1, 3],
            values: OutputValues::I32 {
                values: vec![5, -1, 9],
                frac_bits: 7,
            },
        };
        assert_eq!(out.argmax(), Some(2));
        // The ledger computes the same hash when it re-executes a program.
        assert_eq!(
            out.hash(),
            verity_ledger::crypto::integer_output_hash(&[1, 3], 7, &[5, -1, 9])
        );
        let mut other = out.clone();
        other.shape = vec![3, 1];
        assert_ne!(out.hash(), other.hash());
        let mut other = out.clone();
        other.values = OutputValues::I32 {
            values: vec![5, -1, 9],
            frac_bits: 8,
        };
        assert_ne!(out.hash(), other.hash());
        let mut other = out.clone();
        other.path = ExecPath::Float;
        assert_ne!(out.hash(), other.hash());
    }
}
