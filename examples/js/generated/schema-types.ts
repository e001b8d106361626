export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** ISO-8601 date and time, always with an offset; the server answers in UTC. */
  DateTime: { input: string; output: string; }
  /** An exact amount of money: a JSON string with exactly its currency's decimals and no exponent ("12.50", "0.10000000", "3"). Accepted as a string or an integer; never a float. */
  Decimal: { input: string; output: string; }
};

/** code: ALREADY_EXISTS (email, phone or wallet label taken) */
export type AlreadyExists = Error & {
  __typename?: 'AlreadyExists';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Which input is taken. */
  field?: Maybe<Scalars['String']['output']>;
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** A secret for servers (a merchant's backend, a back-office application) acting as its owner with limited scopes. */
export type ApiKey = {
  __typename?: 'ApiKey';
  /** When it was made. */
  createdAt: Scalars['DateTime']['output'];
  /** When it stops working; null: never. */
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** Opaque id (today "key_" and 16 hex digits). */
  id: Scalars['ID']['output'];
  /** When it was last used, to the minute (written once a minute). */
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The owner's name for it. */
  name: Scalars['String']['output'];
  /** The secret's first characters, to recognise it in a list; never the secret. */
  prefix: Scalars['String']['output'];
  /** When it was revoked; null while it works. */
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  /** What it may do. */
  scopes: Array<ApiScope>;
};

/** A key made or revoked. */
export type ApiKeyPayload = {
  __typename?: 'ApiKeyPayload';
  /** The key. */
  apiKey: ApiKey;
  /** The secret: in createApiKey's answer only, never again; null in revokeApiKey's. */
  secret?: Maybe<Scalars['String']['output']>;
};

/** The key, or why there is none. */
export type ApiKeyResult = ApiKeyPayload | Forbidden | NotAuthenticated | NotFound | ValidationError;

/** What an API key may do. */
export type ApiScope =
  | 'OPERATIONS'
  | 'PAYMENTS'
  | 'READ';

/** Apply a configured ledger operation to a wallet (operators). */
export type ApplyOperationInput = {
  /** The nonce: same key, same outcome. */
  idempotencyKey: Scalars['String']['input'];
  /** A configured operation code. */
  operation: Scalars['String']['input'];
  /** The target wallet. */
  walletId: Scalars['ID']['input'];
};

/** An operator's action or a security event, kept forever (append-only). */
export type AuditEvent = {
  __typename?: 'AuditEvent';
  /** e.g. WALLET_FROZEN, WALLET_UNFROZEN, REFUND, OPERATION_APPLIED, API_KEY_CREATED, API_KEY_REVOKED, SIGN_IN_LOCKED */
  action: Scalars['String']['output'];
  /** Who did it; null for the server itself (e.g. a lockout). */
  actor?: Maybe<User>;
  /** When it happened. */
  createdAt: Scalars['DateTime']['output'];
  /** Opaque id (today "aud_" and 16 hex digits). */
  id: Scalars['ID']['output'];
  /** Why, when the actor said. */
  reason?: Maybe<Scalars['String']['output']>;
  /** What it was done to, e.g. "Wallet:wal_3b0c9e1f5a27d684" (a kind and the public id), "Email:someone@example.com". */
  subject: Scalars['String']['output'];
};

/** A page of the audit log, newest first. */
export type AuditEventConnection = {
  __typename?: 'AuditEventConnection';
  /** The events of this page. */
  edges: Array<AuditEventEdge>;
  /** Where this page ends. */
  pageInfo: PageInfo;
};

/** An audit event of a page, with its cursor. */
export type AuditEventEdge = {
  __typename?: 'AuditEventEdge';
  /** Pass as `after` to continue after this event. */
  cursor: Scalars['String']['output'];
  /** The event. */
  node: AuditEvent;
};

/** A signed-in session. */
export type AuthPayload = {
  __typename?: 'AuthPayload';
  /** When the token stops working. */
  expiresAt: Scalars['DateTime']['output'];
  /** Send as `Authorization: Bearer <token>`. */
  token: Scalars['String']['output'];
  /** The signed-in user. */
  user: User;
};

/** A session, or why there is none. */
export type AuthResult = AlreadyExists | AuthPayload | Forbidden | InvalidCredentials | NotAuthenticated | TooManyAttempts | ValidationError;

/** Merchants only: reserve funds on a customer's wallet, found by its payment token, for a later capture. */
export type AuthorizeInput = {
  /** Positive, within the currency's decimals. */
  amount: Scalars['Decimal']['input'];
  /** Shown on the customer's statement; 1 to 140 characters. */
  description: Scalars['String']['input'];
  /** Default WALLETQL_HOLD_TTL_SECONDS (7 days); 1 second to 30 days. */
  expiresInSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** The merchant's own wallet a capture credits; default as for a charge. */
  toWalletId?: InputMaybe<Scalars['ID']['input']>;
  /** The customer's wallet payment token. */
  walletToken: Scalars['String']['input'];
};

/** A posting on one of the caller's wallets, delivered after commit. */
export type BalanceUpdate = {
  __typename?: 'BalanceUpdate';
  /** balance - held - minimumBalance right after this posting. */
  available: Scalars['Decimal']['output'];
  /** Its balance right after this posting. */
  balance: Scalars['Decimal']['output'];
  /** Its held amount right after this posting. */
  held: Scalars['Decimal']['output'];
  /** The posting. */
  transaction: Transaction;
  /** Its version after this posting. */
  version: Scalars['Int']['output'];
  /** The wallet as it is right after this posting (the same figures as the fields above), so a normalizing client cache (Apollo, Relay, urql's graphcache) updates itself from the subscription alone. */
  wallet: Wallet;
  /** The wallet that changed. */
  walletId: Scalars['ID']['output'];
};

/** Up to WALLETQL_MAX_BATCH (default 1,000) postings in one request, each under its own idempotency key and with the same rules as its single mutation. atomic: true posts all of them in one database transaction or none: the first item that would fail is reported in BatchRejected and nothing is written (no REJECTED record either), so the same batch can be sent again once fixed. atomic: false posts each item on its own, in order, each answering as its single mutation would. */
export type BatchInput = {
  /** All or nothing. */
  atomic: Scalars['Boolean']['input'];
  /** The postings, in order. */
  items: Array<BatchItemInput>;
};

/** Exactly one field is set. */
export type BatchItemInput = {
  /** An operation (operators). */
  applyOperation?: InputMaybe<ApplyOperationInput>;
  /** A charge. */
  charge?: InputMaybe<ChargeInput>;
  /** A deposit. */
  deposit?: InputMaybe<DepositInput>;
  /** A refund. */
  refund?: InputMaybe<RefundInput>;
  /** A transfer. */
  transfer?: InputMaybe<TransferInput>;
  /** A withdrawal. */
  withdraw?: InputMaybe<WithdrawInput>;
};

/** The answer of each item of a batch. */
export type BatchPayload = {
  __typename?: 'BatchPayload';
  /** Items that answered an error. */
  failed: Scalars['Int']['output'];
  /** Items that answered PaymentPayload (replays included). */
  posted: Scalars['Int']['output'];
  /** One result per item, in order. */
  results: Array<PaymentResult>;
};

/** code: BATCH_REJECTED: an atomic batch in which item `index` (0-based) would fail with `reason`; nothing was written. */
export type BatchRejected = Error & {
  __typename?: 'BatchRejected';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** The first item that would fail (0-based). */
  index: Scalars['Int']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
  /** What that item would have answered. */
  reason: Error;
};

/** Each item's answer, or why nothing moved. */
export type BatchResult = BatchPayload | BatchRejected | Forbidden | NotAuthenticated | ValidationError;

/** The merchant that placed the hold: move `amount` of it (default: all that remains) to the merchant's wallet. Several partial captures are allowed while something remains; `final: true` releases the rest after this capture (two postings on the customer's wallet: the CAPTURE, then a RELEASE; none when nothing remains). */
export type CaptureInput = {
  /** Default: all that remains. */
  amount?: InputMaybe<Scalars['Decimal']['input']>;
  /** Release what remains after this capture. */
  final?: InputMaybe<Scalars['Boolean']['input']>;
  /** The hold. */
  holdId: Scalars['ID']['input'];
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
};

/** A new password for the caller. */
export type ChangePasswordInput = {
  /** The password in use now. */
  currentPassword: Scalars['String']['input'];
  /** As at signup: at least 10 characters. */
  newPassword: Scalars['String']['input'];
};

/** A merchant pulling money from a customer's wallet. */
export type ChargeInput = {
  /** Positive, within the currency's decimals. */
  amount: Scalars['Decimal']['input'];
  /** Shown on the customer's statement; 1 to 140 characters. */
  description: Scalars['String']['input'];
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** The merchant's own wallet to credit; default: the merchant's oldest ACTIVE wallet in the charged currency. */
  toWalletId?: InputMaybe<Scalars['ID']['input']>;
  /** The customer's wallet payment token. */
  walletToken: Scalars['String']['input'];
};

/** A merchant's company. */
export type Company = {
  __typename?: 'Company';
  /** Company name, shown to customers it charges. */
  name: Scalars['String']['output'];
  /** Company website. */
  url?: Maybe<Scalars['String']['output']>;
};

/** A merchant's company. */
export type CompanyInput = {
  /** Company name, shown on customers' statements. */
  name: Scalars['String']['input'];
  /** Company website (http/https). */
  url?: InputMaybe<Scalars['String']['input']>;
};

/** Public face of a wallet: never another user's payment token, email or phone. */
export type Counterparty = {
  __typename?: 'Counterparty';
  /** Owner's name, or company name for merchants. */
  name: Scalars['String']['output'];
  /** The wallet's opaque id. */
  walletId: Scalars['ID']['output'];
};

/** A new API key. */
export type CreateApiKeyInput = {
  /** In the future; default never. */
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** 1 to 100 characters, to recognise it by. */
  name: Scalars['String']['input'];
  /** At least one; OPERATIONS only for operators. */
  scopes: Array<ApiScope>;
};

/** A new wallet. */
export type CreateWalletInput = {
  /** Currency code, e.g. "USD". */
  currency: Scalars['String']['input'];
  /** Optional name, unique per owner (case-insensitive). */
  label?: InputMaybe<Scalars['String']['input']>;
};

/** A currency walletql keeps accounts in. */
export type Currency = {
  __typename?: 'Currency';
  /** Currency code, e.g. "BTC". */
  code: Scalars['String']['output'];
  /** Decimal places of its amounts (8 for BTC). */
  decimals: Scalars['Int']['output'];
  /** Display name, e.g. "Bitcoin". */
  name: Scalars['String']['output'];
};

/** Total balance in one currency over a user's wallets. */
export type CurrencyBalance = {
  __typename?: 'CurrencyBalance';
  /** Sum of the balances of wallets in it. */
  balance: Scalars['Decimal']['output'];
  /** The currency. */
  currency: Currency;
};

/** code: CURRENCY_MISMATCH */
export type CurrencyMismatch = Error & {
  __typename?: 'CurrencyMismatch';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** Money in from outside, to one of your wallets. */
export type DepositInput = {
  /** Positive, within the currency's decimals. */
  amount: Scalars['Decimal']['input'];
  /** Free text, <= 500. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** Your wallet. */
  walletId: Scalars['ID']['input'];
};

/** Seen from one wallet: money came in (CREDIT) or went out (DEBIT). */
export type Direction =
  | 'CREDIT'
  | 'DEBIT';

/** Every expected failure of a mutation; `code` is stable. */
export type Error = {
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** code: EXCEEDS_REMAINING: a capture above what remains of its hold, or a refund above what remains refundable. */
export type ExceedsRemaining = Error & {
  __typename?: 'ExceedsRemaining';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
  /** What remains. */
  remaining: Scalars['Decimal']['output'];
  /** What was asked for. */
  requested: Scalars['Decimal']['output'];
};

/** code: FORBIDDEN */
export type Forbidden = Error & {
  __typename?: 'Forbidden';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** A page of a wallet's history, newest first. */
export type HistoryConnection = {
  __typename?: 'HistoryConnection';
  /** The items of this page. */
  edges: Array<HistoryEdge>;
  /** Where this page ends. */
  pageInfo: PageInfo;
  /** How many items the whole history has under this filter. */
  totalCount: Scalars['Int']['output'];
};

/** An item of a history page with its cursor. */
export type HistoryEdge = {
  __typename?: 'HistoryEdge';
  /** Pass as `after` to continue after this item. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: HistoryEntry;
};

/** One transaction seen from one wallet. */
export type HistoryEntry = {
  __typename?: 'HistoryEntry';
  /** Always positive. */
  amount: Scalars['Decimal']['output'];
  /** The wallet's balance right after this posting; null for REJECTED. */
  balanceAfter?: Maybe<Scalars['Decimal']['output']>;
  /** CREDIT: money came in; DEBIT: money went out (or would have, if REJECTED). */
  direction: Direction;
  /** Held amount on this wallet right after this posting; null for REJECTED. */
  heldAfter?: Maybe<Scalars['Decimal']['output']>;
  /** The transaction. */
  transaction: Transaction;
};

/** Narrows a wallet's history; every condition must hold. */
export type HistoryFilter = {
  /** At or after this time (inclusive). */
  from?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only these kinds. */
  kinds?: InputMaybe<Array<TransactionKind>>;
  /** Only these statuses. */
  statuses?: InputMaybe<Array<TransactionStatus>>;
  /** At or before this time (inclusive). */
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

/** Money reserved on a customer's wallet for a merchant. */
export type Hold = {
  __typename?: 'Hold';
  /** Amount authorized. */
  amount: Scalars['Decimal']['output'];
  /** Sum of its captures. */
  capturedAmount: Scalars['Decimal']['output'];
  /** When it was authorized. */
  createdAt: Scalars['DateTime']['output'];
  /** The hold's currency. */
  currency: Currency;
  /** The authorization's statement line. */
  description: Scalars['String']['output'];
  /** The merchant's wallet a capture credits. */
  destination: Counterparty;
  /** After this, it can no longer be captured; what remains is released. */
  expiresAt: Scalars['DateTime']['output'];
  /** Opaque id (today "hld_" and 16 hex digits). */
  id: Scalars['ID']['output'];
  /** The key the merchant authorized with. */
  idempotencyKey: Scalars['String']['output'];
  /** Still reserved: amount - capturedAmount while HELD; "0" once CAPTURED, VOIDED or EXPIRED. */
  remaining: Scalars['Decimal']['output'];
  /** The customer's wallet the funds are held on. */
  source: Counterparty;
  /** HELD, CAPTURED, VOIDED or EXPIRED. */
  status: HoldStatus;
  /** The HOLD, CAPTURE and RELEASE transactions of this hold, oldest first. */
  transactions: Array<Transaction>;
};

/** code: HOLD_CLOSED: the hold is CAPTURED, VOIDED or EXPIRED (also past its expiresAt before the release is recorded). */
export type HoldClosed = Error & {
  __typename?: 'HoldClosed';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** The hold, as it is. */
  hold: Hold;
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** A page of holds, newest first. */
export type HoldConnection = {
  __typename?: 'HoldConnection';
  /** The holds of this page. */
  edges: Array<HoldEdge>;
  /** Where this page ends. */
  pageInfo: PageInfo;
};

/** A hold of a page, with its cursor. */
export type HoldEdge = {
  __typename?: 'HoldEdge';
  /** Pass as `after` to continue after this hold. */
  cursor: Scalars['String']['output'];
  /** The hold. */
  node: Hold;
};

/** A hold and the posting this request made (or replayed). */
export type HoldPayload = {
  __typename?: 'HoldPayload';
  /** The hold, as this request left it. */
  hold: Hold;
  /** True when this answer replays an earlier request with the same idempotency key. */
  replayed: Scalars['Boolean']['output'];
  /** The HOLD, CAPTURE or RELEASE transaction this request made (or replayed). */
  transaction: Transaction;
  /** The caller's side: the merchant's wallet (its balance after a capture). */
  wallet: Wallet;
};

/** The hold and its posting, or why nothing moved. */
export type HoldResult = CurrencyMismatch | ExceedsRemaining | Forbidden | HoldClosed | HoldPayload | IdempotencyConflict | InsufficientFunds | NotAuthenticated | NotFound | ValidationError | WalletInactive;

/** HELD: can be captured or voided until expiresAt; CAPTURED: fully captured, or captured with final: true; VOIDED: released by voidHold; EXPIRED: expiresAt passed while HELD, and what remained was released. */
export type HoldStatus =
  | 'CAPTURED'
  | 'EXPIRED'
  | 'HELD'
  | 'VOIDED';

/** code: IDEMPOTENCY_CONFLICT: the key was already used by this caller with different input. */
export type IdempotencyConflict = Error & {
  __typename?: 'IdempotencyConflict';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** code: INSUFFICIENT_FUNDS. The declined attempt is recorded as a REJECTED transaction. */
export type InsufficientFunds = Error & {
  __typename?: 'InsufficientFunds';
  /** The debited wallet's balance minus minimumBalance at the decision, negative when already under the floor; null when the caller neither owns that wallet nor is an operator (a merchant's charge: a merchant never learns a customer's balance). */
  available?: Maybe<Scalars['Decimal']['output']>;
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
  /** The amount asked for. */
  requested: Scalars['Decimal']['output'];
  /** The REJECTED record. */
  transaction?: Maybe<Transaction>;
};

/** code: INVALID_CREDENTIALS */
export type InvalidCredentials = Error & {
  __typename?: 'InvalidCredentials';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** A configured ledger operation; operators apply it to a wallet. */
export type LedgerOperation = {
  __typename?: 'LedgerOperation';
  /** Signed: positive credits the wallet, negative debits it, zero records an event. */
  amount: Scalars['Decimal']['output'];
  /** Operation code, e.g. DAILY_REWARD. */
  code: Scalars['String']['output'];
  /** Currency the operation moves. */
  currency: Currency;
  /** True for the operations every deployment must define: DAILY_REWARD, SIGNUP_CREDIT, CREDIT_SPEND, CREDIT_ADD. */
  shared: Scalars['Boolean']['output'];
};

/** Email and password. */
export type LoginInput = {
  /** Sign-in email. */
  email: Scalars['String']['input'];
  /** Password. */
  password: Scalars['String']['input'];
};

/** Change the ledger. */
export type Mutation = {
  __typename?: 'Mutation';
  /** Operators only: apply a configured ledger operation (its amount comes from configuration, never from the client). */
  applyOperation: PaymentResult;
  /** Merchants only: reserve funds on a customer's wallet, found by its payment token, for a later capture. */
  authorize: HoldResult;
  /** The merchant that placed a hold: move part or all of what remains of it to the merchant's wallet. */
  capture: HoldResult;
  /** Revokes every other token of the caller; not with an API key. WEAK_PASSWORD as at signup; a wrong currentPassword is InvalidCredentials. */
  changePassword: AuthResult;
  /** Merchants only: pull money from a customer's wallet identified by its payment token. */
  charge: PaymentResult;
  /** A new API key of yours; not with an API key. */
  createApiKey: ApiKeyResult;
  /** Open a wallet in a currency. */
  createWallet: WalletResult;
  /** Money in from outside to one of your wallets. */
  deposit: PaymentResult;
  /** Operators only: until unfrozen, the wallet takes no debit, credit, new hold or capture (each answers WalletInactive); releases of its holds (voids, expiries) still happen and reads still work. Idempotent: freezing a FROZEN wallet answers it unchanged. */
  freezeWallet: WalletResult;
  /** Sign in with email and password. */
  login: AuthResult;
  /** Revokes the token that made this request (not an API key: revoke it with revokeApiKey). */
  logout: Scalars['Boolean']['output'];
  /** Many postings in one request: all or nothing (atomic), or each on its own. */
  postBatch: BatchResult;
  /** Return part or all of a CHARGE, CAPTURE or TRANSFER you received to the wallet it came from (operators: any). */
  refund: PaymentResult;
  /** Revoke one of your API keys; not with an API key. */
  revokeApiKey: ApiKeyResult;
  /** Create a customer or merchant account and sign in. */
  signup: AuthResult;
  /** Move money from one of your wallets to another wallet. */
  transfer: PaymentResult;
  /** Operators only. */
  unfreezeWallet: WalletResult;
  /** The merchant that placed a hold: release all that remains of it. */
  voidHold: HoldResult;
  /** Money out of one of your wallets to the outside. */
  withdraw: PaymentResult;
};


/** Change the ledger. */
export type MutationApplyOperationArgs = {
  input: ApplyOperationInput;
};


/** Change the ledger. */
export type MutationAuthorizeArgs = {
  input: AuthorizeInput;
};


/** Change the ledger. */
export type MutationCaptureArgs = {
  input: CaptureInput;
};


/** Change the ledger. */
export type MutationChangePasswordArgs = {
  input: ChangePasswordInput;
};


/** Change the ledger. */
export type MutationChargeArgs = {
  input: ChargeInput;
};


/** Change the ledger. */
export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
};


/** Change the ledger. */
export type MutationCreateWalletArgs = {
  input: CreateWalletInput;
};


/** Change the ledger. */
export type MutationDepositArgs = {
  input: DepositInput;
};


/** Change the ledger. */
export type MutationFreezeWalletArgs = {
  input: WalletStatusInput;
};


/** Change the ledger. */
export type MutationLoginArgs = {
  input: LoginInput;
};


/** Change the ledger. */
export type MutationPostBatchArgs = {
  input: BatchInput;
};


/** Change the ledger. */
export type MutationRefundArgs = {
  input: RefundInput;
};


/** Change the ledger. */
export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};


/** Change the ledger. */
export type MutationSignupArgs = {
  input: SignupInput;
};


/** Change the ledger. */
export type MutationTransferArgs = {
  input: TransferInput;
};


/** Change the ledger. */
export type MutationUnfreezeWalletArgs = {
  input: WalletStatusInput;
};


/** Change the ledger. */
export type MutationVoidHoldArgs = {
  input: VoidHoldInput;
};


/** Change the ledger. */
export type MutationWithdrawArgs = {
  input: WithdrawInput;
};

/** code: UNAUTHENTICATED */
export type NotAuthenticated = Error & {
  __typename?: 'NotAuthenticated';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** code: NOT_FOUND */
export type NotFound = Error & {
  __typename?: 'NotFound';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** Where a page ends. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Cursor of the last item on this page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** True when older items follow. */
  hasNextPage: Scalars['Boolean']['output'];
};

/** A posted movement of money. */
export type PaymentPayload = {
  __typename?: 'PaymentPayload';
  /** True when this answer replays an earlier request with the same idempotency key. */
  replayed: Scalars['Boolean']['output'];
  /** The POSTED transaction. */
  transaction: Transaction;
  /** The wallet the caller acted on, after the posting: the deposited, withdrawn, source (transfer), merchant (charge) or target (operation) wallet. */
  wallet: Wallet;
};

/** The posting, or why nothing moved. */
export type PaymentResult = CurrencyMismatch | ExceedsRemaining | Forbidden | IdempotencyConflict | InsufficientFunds | NotAuthenticated | NotFound | PaymentPayload | ValidationError | WalletInactive;

/** Totals over a period. */
export type PeriodSummary = {
  __typename?: 'PeriodSummary';
  /** Number of credits. */
  creditCount: Scalars['Int']['output'];
  /** Sum of money in. */
  creditTotal: Scalars['Decimal']['output'];
  /** Number of debits. */
  debitCount: Scalars['Int']['output'];
  /** Sum of money out. */
  debitTotal: Scalars['Decimal']['output'];
  /** creditTotal - debitTotal. */
  net: Scalars['Decimal']['output'];
  /** Declined attempts in the period. */
  rejectedCount: Scalars['Int']['output'];
};

/** Read the ledger. */
export type Query = {
  __typename?: 'Query';
  /** Operators only: the audit log, newest first. */
  auditLog: AuditEventConnection;
  /** Every configured currency. Public. */
  currencies: Array<Currency>;
  /** A hold placed on, or payable to, one of the caller's wallets (operators: any); NOT_FOUND otherwise. */
  hold?: Maybe<Hold>;
  /** The caller; null when not authenticated. */
  me?: Maybe<User>;
  /** Every configured ledger operation. Public. */
  operations: Array<LedgerOperation>;
  /** A transaction the caller initiated or that touches one of the caller's wallets (operators: any); any other is NOT_FOUND. */
  transaction?: Maybe<Transaction>;
  /** Operators: any user. Others: only themselves (NOT_FOUND otherwise). */
  user?: Maybe<User>;
  /** Operators only (FORBIDDEN otherwise): users whose email, name, phone or company name contains `search` (case-insensitive), newest first. */
  users: UserConnection;
  /** One of the caller's wallets (operators: any); anyone else's is NOT_FOUND. */
  wallet?: Maybe<Wallet>;
};


/** Read the ledger. */
export type QueryAuditLogArgs = {
  action?: InputMaybe<Scalars['String']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  subject?: InputMaybe<Scalars['String']['input']>;
};


/** Read the ledger. */
export type QueryHoldArgs = {
  id: Scalars['ID']['input'];
};


/** Read the ledger. */
export type QueryTransactionArgs = {
  id: Scalars['ID']['input'];
};


/** Read the ledger. */
export type QueryUserArgs = {
  id: Scalars['ID']['input'];
};


/** Read the ledger. */
export type QueryUsersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  role?: InputMaybe<Role>;
  search?: InputMaybe<Scalars['String']['input']>;
};


/** Read the ledger. */
export type QueryWalletArgs = {
  id: Scalars['ID']['input'];
};

/** Return part (default: all that is still refundable) of a CHARGE, CAPTURE or TRANSFER to the wallet it came from. Allowed to the owner of the wallet that received it, and to operators; the payer gets Forbidden, anyone else NotFound. Several partial refunds are allowed; together they never exceed the original amount. The refund is a debit of the receiving wallet: InsufficientFunds when it lacks the money (recorded as a REJECTED REFUND). */
export type RefundInput = {
  /** Default: all that is still refundable. */
  amount?: InputMaybe<Scalars['Decimal']['input']>;
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** Up to 500 characters. */
  reason?: InputMaybe<Scalars['String']['input']>;
  /** The payment to refund. */
  transactionId: Scalars['ID']['input'];
};

/** What an account is for. */
export type Role =
  | 'CUSTOMER'
  | 'MERCHANT'
  | 'OPERATOR';

/** A new customer or merchant account. */
export type SignupInput = {
  /** Required for MERCHANT. */
  company?: InputMaybe<CompanyInput>;
  /** Sign-in email; unique, case-insensitive. */
  email: Scalars['String']['input'];
  /** Display name. */
  name: Scalars['String']['input'];
  /** At least 10 characters, not all digits, not only whitespace; no control characters. */
  password: Scalars['String']['input'];
  /** E.164, e.g. +34666666666; unique when given. */
  phone?: InputMaybe<Scalars['String']['input']>;
  /** CUSTOMER or MERCHANT; OPERATOR is refused. A signup wallet (WALLETQL_SIGNUP_WALLET_CURRENCY) counts toward the wallet limit. */
  role?: Role;
};

/** Watch the ledger live. */
export type Subscription = {
  __typename?: 'Subscription';
  /** Every posting on the caller's wallets, in version order per wallet, delivered only after commit. walletId: only that wallet (must be the caller's). afterVersion (needs walletId): first replay, from the stored history, every posting with a higher version, then continue live, with no gap and no duplicate. */
  balanceUpdates: BalanceUpdate;
};


/** Watch the ledger live. */
export type SubscriptionBalanceUpdatesArgs = {
  afterVersion?: InputMaybe<Scalars['Int']['input']>;
  walletId?: InputMaybe<Scalars['ID']['input']>;
};

/** code: TOO_MANY_ATTEMPTS: sign-in refused for this email (or this client address) until retryAfterSeconds have passed; the password is not even checked. Defaults: after 5 consecutive failed sign-ins for one email (WALLETQL_SIGNIN_MAX_FAILURES), that email is refused for 60 s, doubling with each further failure up to 1 hour; a successful sign-in resets the count. A client address with more than 100 failed sign-ins in 15 minutes is refused likewise. */
export type TooManyAttempts = Error & {
  __typename?: 'TooManyAttempts';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
  /** Seconds until a sign-in is heard. */
  retryAfterSeconds: Scalars['Int']['output'];
};

/** One movement of money, posted or declined. Immutable once written. */
export type Transaction = {
  __typename?: 'Transaction';
  /** Positive; "0" only for a zero-amount operation (recorded as a posting on the wallet: destination set, an entry of 0, version + 1). */
  amount: Scalars['Decimal']['output'];
  /** When it was decided (UTC). */
  createdAt: Scalars['DateTime']['output'];
  /** Currency moved. */
  currency: Currency;
  /** Free text given with the request (a charge's statement line). */
  description?: Maybe<Scalars['String']['output']>;
  /** Wallet money went to; null for WITHDRAWAL and for debiting operations. */
  destination?: Maybe<Counterparty>;
  /** Why a REJECTED transaction was declined, e.g. INSUFFICIENT_FUNDS; null when POSTED. */
  failureReason?: Maybe<Scalars['String']['output']>;
  /** For HOLD, CAPTURE and RELEASE: the hold. */
  hold?: Maybe<Hold>;
  /** Opaque id (today "txn_" and 16 hex digits; never parse it, it may change). */
  id: Scalars['ID']['output'];
  /** The key the initiator sent; a retry with it replays this. */
  idempotencyKey: Scalars['String']['output'];
  /** What moved. */
  kind: TransactionKind;
  /** Operation code for kind OPERATION (e.g. DAILY_REWARD); null otherwise. */
  operation?: Maybe<Scalars['String']['output']>;
  /** For a REFUND: the transaction it refunds. */
  refundOf?: Maybe<Transaction>;
  /** For a CHARGE, CAPTURE or TRANSFER: the sum of its POSTED refunds ("0" when none). */
  refundedAmount?: Maybe<Scalars['Decimal']['output']>;
  /** For a CHARGE, CAPTURE or TRANSFER: its refunds, oldest first (REJECTED attempts included, for the caller who made them and operators). */
  refunds?: Maybe<Array<Transaction>>;
  /** Wallet money left; null for DEPOSIT and for crediting operations. */
  source?: Maybe<Counterparty>;
  /** POSTED, or REJECTED (declined; moved nothing). */
  status: TransactionStatus;
};

/** What moved. */
export type TransactionKind =
  | 'CAPTURE'
  | 'CHARGE'
  | 'DEPOSIT'
  | 'HOLD'
  | 'OPERATION'
  | 'REFUND'
  | 'RELEASE'
  | 'TRANSFER'
  | 'WITHDRAWAL';

/** POSTED moved money; REJECTED was declined and moved nothing. */
export type TransactionStatus =
  | 'POSTED'
  | 'REJECTED';

/** Exactly one of toWalletId and toUserId. With toUserId the recipient's oldest ACTIVE wallet in the source wallet's currency is used. */
export type TransferInput = {
  /** Positive, within the currency's decimals. */
  amount: Scalars['Decimal']['input'];
  /** Free text, <= 500. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Your wallet to debit. */
  fromWalletId: Scalars['ID']['input'];
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** A user. */
  toUserId?: InputMaybe<Scalars['ID']['input']>;
  /** Any wallet in the same currency. */
  toWalletId?: InputMaybe<Scalars['ID']['input']>;
};

/** An account: a customer, a merchant or an operator. */
export type User = {
  __typename?: 'User';
  /** The caller's own API keys (also revoked ones), newest first; null for anyone else's user. */
  apiKeys?: Maybe<Array<ApiKey>>;
  /** Total balance per currency over this user's wallets; currencies without a wallet are omitted. */
  balances: Array<CurrencyBalance>;
  /** Merchants only. */
  company?: Maybe<Company>;
  /** When the account was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Sign-in email, lower-cased. */
  email: Scalars['String']['output'];
  /** Opaque id (today "usr_" and 16 hex digits; never parse it, it may change); others can send you money with transfer(toUserId). */
  id: Scalars['ID']['output'];
  /** Display name. */
  name: Scalars['String']['output'];
  /** E.164 phone number, when given. */
  phone?: Maybe<Scalars['String']['output']>;
  /** CUSTOMER, MERCHANT or OPERATOR. */
  role: Role;
  /** The user's wallets, oldest first; optionally in one currency. */
  wallets: Array<Wallet>;
};


/** An account: a customer, a merchant or an operator. */
export type UserBalancesArgs = {
  currency?: InputMaybe<Scalars['String']['input']>;
};


/** An account: a customer, a merchant or an operator. */
export type UserWalletsArgs = {
  currency?: InputMaybe<Scalars['String']['input']>;
};

/** A page of users, newest first. */
export type UserConnection = {
  __typename?: 'UserConnection';
  /** The users of this page. */
  edges: Array<UserEdge>;
  /** Where this page ends. */
  pageInfo: PageInfo;
};

/** A user of a page, with its cursor. */
export type UserEdge = {
  __typename?: 'UserEdge';
  /** Pass as `after` to continue after this user. */
  cursor: Scalars['String']['output'];
  /** The user. */
  node: User;
};

/** code: BAD_AMOUNT, BAD_INPUT, BAD_EMAIL, BAD_PHONE, BAD_ROLE, BAD_CURSOR, SELF_TRANSFER, SELF_CHARGE, UNKNOWN_CURRENCY, UNKNOWN_OPERATION, WEAK_PASSWORD */
export type ValidationError = Error & {
  __typename?: 'ValidationError';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Input field path, e.g. "amount" or "company.name". */
  field?: Maybe<Scalars['String']['output']>;
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** The merchant that placed the hold: release all that remains of it. */
export type VoidHoldInput = {
  /** The hold. */
  holdId: Scalars['ID']['input'];
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
};

/** A balance in one currency, owned by one user. */
export type Wallet = {
  __typename?: 'Wallet';
  /** What a debit may take now: balance - held - minimumBalance (negative when under the floor). */
  available: Scalars['Decimal']['output'];
  /** Current balance. */
  balance: Scalars['Decimal']['output'];
  /** Balance right after the last posting at or before `at` (0 before the first one). */
  balanceAt: Scalars['Decimal']['output'];
  /** When the wallet was created. */
  createdAt: Scalars['DateTime']['output'];
  /** The wallet's currency. */
  currency: Currency;
  /** Sum of what remains of the HELD holds on this wallet. */
  held: Scalars['Decimal']['output'];
  /** Newest first. Includes REJECTED attempts (e.g. a charge declined for insufficient funds) that name this wallet as source or destination. */
  history: HistoryConnection;
  /** Holds placed on this wallet (as a customer) or payable to it (as a merchant), newest first. */
  holds: HoldConnection;
  /** Opaque id (today "wal_" and 16 hex digits; never parse it, it may change). */
  id: Scalars['ID']['output'];
  /** Optional name, unique per owner (case-insensitive) when set. */
  label?: Maybe<Scalars['String']['output']>;
  /** Debits may not take the balance below this floor. */
  minimumBalance: Scalars['Decimal']['output'];
  /** ACTIVE, or FROZEN (no debits or credits; reads still work). */
  status: WalletStatus;
  /** Totals over [from, to], both ends inclusive; open ends are unbounded. */
  summary: PeriodSummary;
  /** Payment token; null unless the caller owns this wallet. A customer gives it to a merchant so the merchant can charge this wallet. */
  token?: Maybe<Scalars['String']['output']>;
  /** Starts at 0 and increases by exactly 1 with every posting that touches this wallet. */
  version: Scalars['Int']['output'];
};


/** A balance in one currency, owned by one user. */
export type WalletBalanceAtArgs = {
  at: Scalars['DateTime']['input'];
};


/** A balance in one currency, owned by one user. */
export type WalletHistoryArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<HistoryFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** A balance in one currency, owned by one user. */
export type WalletHoldsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<HoldStatus>;
};


/** A balance in one currency, owned by one user. */
export type WalletSummaryArgs = {
  from?: InputMaybe<Scalars['DateTime']['input']>;
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

/** code: WALLET_INACTIVE */
export type WalletInactive = Error & {
  __typename?: 'WalletInactive';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** code: WALLET_LIMIT_REACHED */
export type WalletLimitReached = Error & {
  __typename?: 'WalletLimitReached';
  /** Stable SCREAMING_SNAKE code. */
  code: Scalars['String']['output'];
  /** Wallets this role may hold. */
  limit: Scalars['Int']['output'];
  /** Human-readable explanation. */
  message: Scalars['String']['output'];
};

/** A wallet made, frozen or unfrozen. */
export type WalletPayload = {
  __typename?: 'WalletPayload';
  /** The wallet. */
  wallet: Wallet;
};

/** The wallet, or why there is none. */
export type WalletResult = AlreadyExists | Forbidden | NotAuthenticated | NotFound | ValidationError | WalletLimitReached | WalletPayload;

/** ACTIVE, or FROZEN: no postings. */
export type WalletStatus =
  | 'ACTIVE'
  | 'FROZEN';

/** A wallet and why its status changes. */
export type WalletStatusInput = {
  /** 1 to 500 characters; kept in the audit log. */
  reason: Scalars['String']['input'];
  /** Any wallet. */
  walletId: Scalars['ID']['input'];
};

/** Money out to the outside, from one of your wallets. */
export type WithdrawInput = {
  /** Positive, within the currency's decimals. */
  amount: Scalars['Decimal']['input'];
  /** Free text, <= 500. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Same key and input: replayed, not repeated. */
  idempotencyKey: Scalars['String']['input'];
  /** Your wallet. */
  walletId: Scalars['ID']['input'];
};
