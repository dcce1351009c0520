/** The SO_ORIGINAL_DST reader, when the native addon is built (else undefined). */
import { originalDestination, originalDestinationAvailable } from '../../kube/capture/index.js';

export const recoverDestination = originalDestinationAvailable() ? originalDestination : undefined;
