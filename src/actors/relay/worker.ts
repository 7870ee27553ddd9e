import type { ActorDefinition } from '../runtime/actor-definition.js';
import { ErrorText, MessageType } from '../../protocol/registry.js';
import { relayListResponseCodec } from '../../protocol/relay-messages.js';

/**
 * Relay actor. Until the relay role is wired to the cores in this folder, it answers as a reference node with
 * the relay role off: relay requests get "unsupported message type", a relay list request an empty list.
 */
export const actor: ActorDefinition<'relay'> = {
  name: 'relay',
  start() {
    return {
      handlers: {
        wire(req) {
          if (req.messageType === MessageType.RELAY_LIST_REQUEST) {
            return { payload: relayListResponseCodec.encode({ announcements: [] }) };
          }
          return { error: ErrorText.UNSUPPORTED_MESSAGE_TYPE };
        },
      },
    };
  },
};
