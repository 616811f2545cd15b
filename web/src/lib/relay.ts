/**
 * How an owner query for history keys reaches the rollup: through the gateway
 * (`POST /v1/devices/{id}/history-keys`), or, when the gateway will not relay it (not the
 * account that claimed the device, gateway down), straight to the node's inspect endpoint.
 * The answer is sealed to this browser either way.
 */
import { relayHistoryKeys } from './gateway';
import { HttpError } from './http';
import { inspect } from './node';
import type { KeysRelay } from './history';

export function ownerKeysRelay(deviceId: string, inspectUrl: () => Promise<string>): KeysRelay {
  return async (query) => {
    try {
      return await relayHistoryKeys(deviceId, query);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : undefined;
      if (status !== undefined && ![401, 403, 404, 405, 502, 503, 504].includes(status)) throw e;
    }
    return (await inspect(await inspectUrl(), { type: 'history_keys', owner_query: query })).answer;
  };
}
