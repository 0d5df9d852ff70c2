//! Transactions, call tickets and receipts: their canonical encoding, signing and decoding.
//!
//! # Encoding
//! The canonical binary form of every message is borsh. A transaction on the wire is the borsh
//! encoding of [`SignedTransaction`]; decoding refuses trailing bytes, unknown variants, invalid
//! UTF-8 and anything longer than the size limit, so each valid transaction has exactly one
//! encoding.
//!
//! # Signing
//! Each signed message is signed under a namespace `verity/<chain id>/<kind>` (kind = `tx`,
//! `ticket` or `receipt`) over the borsh encoding of the unsigned message. The transaction hash
//! and the call id (ticket hash) are SHA-256 over the same bytes, so they do not depend on the
//! signature and cannot be changed by re-signing.

use crate::{
    crypto::{self, Keypair},
    types::*,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// The three signing namespaces of one chain.
#[derive(Clone, Debug)]
pub struct Namespaces {
    /// For transactions.
    pub tx: Vec<u8>,
    /// For caller-signed call tickets.
    pub ticket: Vec<u8>,
    /// For node-signed receipts.
    pub receipt: Vec<u8>,
}

impl Namespaces {
    /// The namespaces of the chain named `chain_id`.
    pub fn new(chain_id: &str) -> Self {
        let ns = |kind: &str| format!("verity/{chain_id}/{kind}").into_bytes();
        Self {
            tx: ns("tx"),
            ticket: ns("ticket"),
            receipt: ns("receipt"),
        }
    }
}

/// What a transaction does.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Move `amount` from the signer's balance to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Base units.
        amount: Amount,
    },
    /// Register a model; the signer becomes its owner and earns its royalty.
    RegisterModel {
        /// SHA-256 of the ONNX file.
        model: ModelId,
        /// Display name.
        name: String,
        /// Royalty on every call of this model, in basis points of the call price.
        royalty_bps: Bps,
        /// The input tensor the model accepts.
        input: InputSpec,
        /// Verification modes the model can be served under.
        modes: Vec<Mode>,
    },
    /// Change the royalty or modes of a model the signer owns.
    UpdateModel {
        /// The model.
        model: ModelId,
        /// New royalty.
        royalty_bps: Bps,
        /// New set of modes.
        modes: Vec<Mode>,
    },
    /// Register the signer as a provider node, bonding `stake` from its balance.
    RegisterNode {
        /// Public URL of the node's inference API.
        endpoint: String,
        /// Declared hardware.
        hardware: HardwareProfile,
        /// Models served.
        models: Vec<ModelId>,
        /// Own price per call for each mode offered.
        prices: Vec<ModePrice>,
        /// Stake to bond, at least the minimum stake.
        stake: Amount,
    },
    /// Replace the signer's node description (endpoint, hardware, models, prices).
    UpdateNode {
        /// Public URL of the node's inference API.
        endpoint: String,
        /// Declared hardware.
        hardware: HardwareProfile,
        /// Models served.
        models: Vec<ModelId>,
        /// Own price per call for each mode offered.
        prices: Vec<ModePrice>,
    },
    /// Bond more of the signer's balance as node stake.
    Bond {
        /// Base units.
        amount: Amount,
    },
    /// Start unbonding stake; it can be withdrawn after the unbonding period.
    Unbond {
        /// Base units.
        amount: Amount,
    },
    /// Move every matured unbonding and escrow release back to the signer's balance.
    Withdraw,
    /// Move balance into the signer's call escrow.
    EscrowDeposit {
        /// Base units.
        amount: Amount,
    },
    /// Ask to release escrow; after the escrow unlock period `Withdraw` returns it. Until then it
    /// still pays for calls, so a node serving a ticket signed before the request is paid.
    EscrowWithdraw {
        /// Base units.
        amount: Amount,
    },
    /// Settle a batch of served calls (normally sent by the serving node).
    SubmitReceipts {
        /// The calls, each with both signatures.
        calls: Vec<PaidCall>,
    },
    /// Store the integer program of a model the signer owns, so audits can be refereed.
    SetProgram {
        /// The model.
        model: ModelId,
        /// The program's canonical encoding (`verity_quant::Program::encode`).
        program: Vec<u8>,
        /// Shape the output is served with; its product is the program's output length.
        output_shape: Vec<u32>,
    },
    /// Reveal the inputs of the signer's calls sampled for audit.
    RevealInputs {
        /// One per sampled call.
        reveals: Vec<Reveal>,
    },
    /// Report re-executed outputs of open audits (the signer must be a bonded node).
    ReportAudits {
        /// One per audit.
        reports: Vec<AuditReport>,
    },
    /// Store the Groth16 verifying key of a model the signer owns (its program must be set).
    SetZkKey {
        /// The model.
        model: ModelId,
        /// The key's canonical encoding (`verity_zk::groth16::VerifyingKey::to_bytes`).
        key: Vec<u8>,
    },
    /// Prove the signer's zk-mode calls.
    SubmitProofs {
        /// One per call.
        proofs: Vec<CallProof>,
    },
    /// Register the enclave key that signs the signer's tee-mode receipts.
    RegisterEnclave {
        /// An attestation document (AWS Nitro format) whose `public_key` is the enclave's
        /// ed25519 key and whose `user_data` is the node's 20-byte address.
        document: Vec<u8>,
    },
    /// Prove that a validator equivocated in consensus; its stake is slashed and the signer
    /// rewarded ([`crate::equivocation`]).
    ReportEquivocation {
        /// The consensus engine's encoding of the conflicting votes, at most
        /// [`crate::equivocation::MAX_EVIDENCE_BYTES`].
        evidence: Vec<u8>,
    },
}

/// The input of a sampled call, as the node ran it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Reveal {
    /// The call.
    pub call: CallId,
    /// The model input as little-endian f32 values, exactly as many as the model takes.
    pub tensor: Vec<u8>,
    /// When the caller sent an image, its bytes (the ticket's input hash is over these); the
    /// tensor is then the node's decoding of it.
    pub image: Option<Vec<u8>>,
}

/// A zero-knowledge proof that a zk-mode call's output is its model's program applied to its
/// input. The input and output are the proof's public values; the ledger checks they are the
/// call's (by the ticket's input hash and the receipt's output hash) before verifying.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CallProof {
    /// The call.
    pub call: CallId,
    /// The model input as little-endian f32 values (the ticket's input hash is over these).
    pub input: Vec<u8>,
    /// The program's output values.
    pub output: Vec<i32>,
    /// The Groth16 proof (128 bytes).
    pub proof: Vec<u8>,
}

/// An auditor's result for one audit.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AuditReport {
    /// The audit.
    pub audit: Hash32,
    /// The output hash re-execution gave (as a receipt's `output_hash`).
    pub output_hash: Hash32,
}

impl Payload {
    /// Number of calls a receipt batch carries (0 for every other kind); the fee depends on it.
    pub fn call_count(&self) -> usize {
        match self {
            Payload::SubmitReceipts { calls } => calls.len(),
            _ => 0,
        }
    }

    /// Short name of the kind of transaction.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Transfer { .. } => "transfer",
            Payload::RegisterModel { .. } => "register_model",
            Payload::UpdateModel { .. } => "update_model",
            Payload::RegisterNode { .. } => "register_node",
            Payload::UpdateNode { .. } => "update_node",
            Payload::Bond { .. } => "bond",
            Payload::Unbond { .. } => "unbond",
            Payload::Withdraw => "withdraw",
            Payload::EscrowDeposit { .. } => "escrow_deposit",
            Payload::EscrowWithdraw { .. } => "escrow_withdraw",
            Payload::SubmitReceipts { .. } => "submit_receipts",
            Payload::SetProgram { .. } => "set_program",
            Payload::RevealInputs { .. } => "reveal_inputs",
            Payload::ReportAudits { .. } => "report_audits",
            Payload::RegisterEnclave { .. } => "register_enclave",
            Payload::SetZkKey { .. } => "set_zk_key",
            Payload::SubmitProofs { .. } => "submit_proofs",
            Payload::ReportEquivocation { .. } => "report_equivocation",
        }
    }
}

/// An unsigned transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Transaction {
    /// The signer's public key; the sender is its address.
    pub signer: PublicKeyBytes,
    /// Must equal the sender's account nonce; it then increases by one.
    pub nonce: u64,
    /// Fee paid to the protocol treasury; at least the required fee for the payload.
    pub fee: Amount,
    /// What the transaction does.
    pub payload: Payload,
}

impl Transaction {
    /// The sender's address.
    pub fn sender(&self) -> Address {
        Address::of_key(&self.signer)
    }

    /// The bytes that are signed and hashed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding to memory cannot fail")
    }

    /// The transaction hash.
    pub fn hash(&self) -> Hash32 {
        crypto::sha256(&[&self.signing_bytes()])
    }

    /// Sign with `key` (whose public key must be `self.signer`).
    pub fn sign(self, key: &Keypair, ns: &Namespaces) -> SignedTransaction {
        debug_assert_eq!(key.public(), self.signer);
        let signature = key.sign(&ns.tx, &self.signing_bytes());
        SignedTransaction {
            tx: self,
            signature,
        }
    }
}

/// A transaction with its signature: the unit clients submit and blocks carry.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// ed25519 signature by `tx.signer` under the chain's `tx` namespace.
    pub signature: SignatureBytes,
}

impl SignedTransaction {
    /// The canonical wire encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding to memory cannot fail")
    }

    /// Decode the wire encoding, refusing anything over `max_bytes`, with trailing bytes, or
    /// otherwise malformed.
    pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Self, DecodeError> {
        if bytes.len() > max_bytes {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: max_bytes,
            });
        }
        borsh::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    /// Whether the signature is valid for the chain with namespaces `ns`.
    pub fn verify_signature(&self, ns: &Namespaces) -> bool {
        crypto::verify(
            &self.tx.signer,
            &ns.tx,
            &self.tx.signing_bytes(),
            &self.signature,
        )
    }
}

/// Why bytes are not a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Longer than the protocol's transaction size limit.
    #[error(
        "transaction is {len} bytes, over the limit of {max}; split the receipt batch into smaller transactions"
    )]
    TooLarge {
        /// Length received.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Not a canonical borsh `SignedTransaction`.
    #[error(
        "transaction bytes are malformed ({0}); encode a SignedTransaction with `verity tx` or the client library"
    )]
    Malformed(String),
}

/// A caller's authorization to pay for one call, up to `price_cap`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Ticket {
    /// The paying account (its escrow pays).
    pub caller: Address,
    /// The model to run.
    pub model: ModelId,
    /// The node that may serve the call.
    pub node: Address,
    /// SHA-256 of the input bytes.
    pub input_hash: Hash32,
    /// Verification mode.
    pub mode: Mode,
    /// The most the caller will pay, in base units.
    pub price_cap: Amount,
    /// Any number that makes this ticket unique for the caller.
    pub nonce: u64,
    /// Block time after which the ticket can no longer be settled.
    pub expiry_ms: TimeMs,
}

impl Ticket {
    /// The bytes that are signed and hashed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding to memory cannot fail")
    }

    /// The call id.
    pub fn id(&self) -> CallId {
        crypto::sha256(&[&self.signing_bytes()])
    }

    /// Sign as the caller.
    pub fn sign(&self, caller: &Keypair, ns: &Namespaces) -> SignatureBytes {
        caller.sign(&ns.ticket, &self.signing_bytes())
    }
}

/// A node's statement that it served a ticket, with what it returned and charged.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    /// The call id (hash of the ticket).
    pub ticket: CallId,
    /// SHA-256 of the output bytes returned to the caller.
    pub output_hash: Hash32,
    /// Price charged, at most the ticket's cap.
    pub price: Amount,
    /// The node's clock when it answered.
    pub time_ms: TimeMs,
}

impl Receipt {
    /// The bytes that are signed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding to memory cannot fail")
    }

    /// Sign as the node.
    pub fn sign(&self, node: &Keypair, ns: &Namespaces) -> SignatureBytes {
        node.sign(&ns.receipt, &self.signing_bytes())
    }
}

/// One served call as submitted for settlement.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PaidCall {
    /// The caller's ticket.
    pub ticket: Ticket,
    /// The caller's signature over the ticket.
    pub ticket_signature: SignatureBytes,
    /// The node's receipt.
    pub receipt: Receipt,
    /// The node's signature over the receipt.
    pub receipt_signature: SignatureBytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignedTransaction {
        let key = Keypair::from_seed(1);
        Transaction {
            signer: key.public(),
            nonce: 3,
            fee: 10,
            payload: Payload::Transfer {
                to: Address::of_label("x"),
                amount: 5,
            },
        }
        .sign(&key, &Namespaces::new("test"))
    }

    #[test]
    fn encoding_round_trips_and_is_strict() {
        let tx = sample();
        let bytes = tx.encode();
        assert_eq!(SignedTransaction::decode(&bytes, 1 << 20).unwrap(), tx);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            SignedTransaction::decode(&trailing, 1 << 20),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            SignedTransaction::decode(&bytes, bytes.len() - 1),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(SignedTransaction::decode(&bytes[..bytes.len() - 1], 1 << 20).is_err());
    }

    #[test]
    fn signature_binds_chain_and_content() {
        let tx = sample();
        assert!(tx.verify_signature(&Namespaces::new("test")));
        assert!(!tx.verify_signature(&Namespaces::new("other-chain")));
        let mut altered = tx.clone();
        altered.tx.nonce += 1;
        assert!(!altered.verify_signature(&Namespaces::new("test")));
    }

    #[test]
    fn json_form_is_readable() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["tx"]["payload"]["type"], "transfer");
        assert!(
            json["tx"]["payload"]["to"]
                .as_str()
                .unwrap()
                .starts_with("verity1")
        );
    }
}
