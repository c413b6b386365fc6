package org.bitnet4j.serve;

import java.util.Map;

/**
 * A request the server refuses, in OpenAI's error shape {@code {"error":{"message","type","param","code"}}}.
 *
 * @see OpenAiServer
 */
public final class ApiException extends RuntimeException {
    public final int status;
    public final String type;
    public final String param;
    public final String code;
    public final Map<String, String> headers;

    public ApiException(int status, String type, String param, String code, String message, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = headers;
    }

    /** 400: the body or one of its fields is wrong. */
    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(400, "invalid_request_error", param, code, message, Map.of());
    }
}
