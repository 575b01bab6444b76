import type { Serialize } from '@cyclonedx/cyclonedx-library';

type Element = Serialize.XML.Types.SimpleXml.Element;
type Comment = Serialize.XML.Types.SimpleXml.Comment;

function escapeText(value: string): string {
  return value.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case '\t':
        return '&#x9;';
      case '\n':
        return '&#xA;';
      default:
        return '&#xD;';
    }
  });
}

/**
 * Encodes the library's normalized XML tree (`SimpleXml.Element`) as an XML document: the same
 * layout the library's xmlbuilder2-based serializer writes (declaration, `space`-wide indent,
 * self-closing empty elements), in linear time. The tree has every decision made already; this
 * only escapes and indents.
 *
 * @internal
 */
export function encodeXml(root: Element, space: number): string {
  const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const pad = space > 0 ? ' '.repeat(space) : '';
  const newline = space > 0 ? '\n' : '';
  const walk = (element: Element, depth: number, parentNs: string | undefined): void => {
    const indent = pad.repeat(depth);
    const ns = element.namespace === undefined ? parentNs : String(element.namespace);
    let open = `${indent}<${element.name}`;
    if (ns !== undefined && ns !== parentNs) open += ` xmlns="${escapeAttribute(ns)}"`;
    for (const [key, value] of Object.entries(element.attributes ?? {})) {
      if (value === undefined) continue;
      open += ` ${key}="${escapeAttribute(String(value))}"`;
    }
    const children = element.children;
    if (children === undefined) {
      parts.push(`${open}/>`);
      return;
    }
    if (typeof children !== 'object') {
      const text = String(children);
      parts.push(text === '' ? `${open}/>` : `${open}>${escapeText(text)}</${element.name}>`);
      return;
    }
    const list = [...(children as Iterable<Element | Comment>)];
    if (list.length === 0) {
      parts.push(`${open}/>`);
      return;
    }
    parts.push(`${open}>`);
    for (const child of list) {
      if (child.type === 'comment') {
        parts.push(
          `${pad.repeat(depth + 1)}<!--${String(child.text ?? '').replaceAll('--', '- -')}-->`,
        );
      } else walk(child, depth + 1, ns);
    }
    parts.push(`${indent}</${element.name}>`);
  };
  walk(root, 0, undefined);
  return parts.join(newline);
}
