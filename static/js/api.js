// REST requests, and the catalog every tab reads (surfaces, their plotting grids, optimizers). An answer
// that is not 2xx becomes an ApiError carrying the one error shape {code, message, details[{field,
// message, expected, received}]}. A tab's own endpoints are in its folder (race/api.js, learn/api.js).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.code || "http_error";
    this.details = body?.details || [];
  }
}

/** One JSON request; the answer's body, or an ApiError for one that is not 2xx. */
export async function request(method, path, body, signal) {
  const init = { method, signal, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null; // a body that is not JSON: the status says enough
  }
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

export const isAbort = (error) => error?.name === "AbortError";

export const getSurfaces = () => request("GET", "/api/surfaces");
export const getOptimizers = () => request("GET", "/api/optimizers");

/** The plotting grid of a built-in surface (an id) or of {expression, x_range, y_range}. */
export function getGrid(surface, n, signal) {
  if (typeof surface === "string") {
    return request("GET", `/api/surfaces/${encodeURIComponent(surface)}/grid?n=${n}`, undefined, signal);
  }
  return request("POST", `/api/surfaces/grid?n=${n}`, surface, signal);
}
