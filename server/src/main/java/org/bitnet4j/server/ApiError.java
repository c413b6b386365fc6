package org.bitnet4j.server;

/**
 * An error answered in OpenAI's shape: {@code {"error":{"message":..., "type":..., "param":..., "code":...}}}
 * with the given HTTP status.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 invalid_request_error naming the offending parameter. */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }

    static ApiError invalid(String param, String code, String message) {
        return new ApiError(400, "invalid_request_error", param, code, message);
    }
}
