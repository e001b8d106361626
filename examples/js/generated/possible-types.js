
      export default {
  "possibleTypes": {
    "ApiKeyResult": [
      "ApiKeyPayload",
      "Forbidden",
      "NotAuthenticated",
      "NotFound",
      "ValidationError"
    ],
    "AuthResult": [
      "AlreadyExists",
      "AuthPayload",
      "Forbidden",
      "InvalidCredentials",
      "NotAuthenticated",
      "TooManyAttempts",
      "ValidationError"
    ],
    "BatchResult": [
      "BatchPayload",
      "BatchRejected",
      "Forbidden",
      "NotAuthenticated",
      "ValidationError"
    ],
    "Error": [
      "AlreadyExists",
      "BatchRejected",
      "CurrencyMismatch",
      "ExceedsRemaining",
      "Forbidden",
      "HoldClosed",
      "IdempotencyConflict",
      "InsufficientFunds",
      "InvalidCredentials",
      "NotAuthenticated",
      "NotFound",
      "TooManyAttempts",
      "ValidationError",
      "WalletInactive",
      "WalletLimitReached"
    ],
    "HoldResult": [
      "CurrencyMismatch",
      "ExceedsRemaining",
      "Forbidden",
      "HoldClosed",
      "HoldPayload",
      "IdempotencyConflict",
      "InsufficientFunds",
      "NotAuthenticated",
      "NotFound",
      "ValidationError",
      "WalletInactive"
    ],
    "PaymentResult": [
      "CurrencyMismatch",
      "ExceedsRemaining",
      "Forbidden",
      "IdempotencyConflict",
      "InsufficientFunds",
      "NotAuthenticated",
      "NotFound",
      "PaymentPayload",
      "ValidationError",
      "WalletInactive"
    ],
    "WalletResult": [
      "AlreadyExists",
      "Forbidden",
      "NotAuthenticated",
      "NotFound",
      "ValidationError",
      "WalletLimitReached",
      "WalletPayload"
    ]
  }
}
    