// Every way a selfie can fail to become pixels, as one error type the UI can switch on.

export type ImageErrorCode =
  | 'empty-file'
  | 'not-an-image'
  | 'unsupported-format'
  | 'truncated'
  | 'zero-size'
  | 'too-large'
  | 'corrupt';

export class ImageDecodeError extends Error {
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.name = 'ImageDecodeError';
    this.code = code;
  }
}

export const NOT_AN_IMAGE_MESSAGE = 'this file is not a JPEG, PNG or WebP image';
