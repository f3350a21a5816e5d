import enum


class IdentityErrorCode(enum.StrEnum):
    USER_ID_TAKEN = "user_id_taken"
    INVALID_USER_ID = "invalid_user_id"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    NO_PHONE = "no_phone"
    INVALID_LANGUAGE = "invalid_language"
    NOT_PROVISIONED = "not_provisioned"
    CONSUMER_CREDENTIALS = "consumer_credentials"
