import { forwardRef, useId, useImperativeHandle, useRef, useState, type KeyboardEvent, type UIEvent } from 'react';
import { lineCount, offsetOf, problemText, type PolicyProblem } from './model.js';

export interface EditorHandle {
  /** Focuses the text with the caret at a 1-based line and column (an error's place, a rule's line). */
  goTo(line: number, column: number): void;
}

/** Pixels per line and the text's left padding; the stylesheet uses the same numbers (policies.css). */
const LINE_HEIGHT = 20;
const PADDING = 8;

/**
 * An HCL text editor: a textarea with line numbers, the current problem marked at its line and column, and a few
 * keys editors have. Tab indents by two spaces; Escape then Tab (or Shift+Tab) leaves the text, so the keyboard is
 * never trapped; Enter keeps the line's indentation; Ctrl/Cmd+S saves.
 */
export const HclEditor = forwardRef<
  EditorHandle,
  {
    label: string;
    value: string;
    onChange: (value: string) => void;
    problem?: PolicyProblem | undefined;
    readOnly?: boolean;
    onSave?: () => void;
  }
>(function HclEditor({ label, value, onChange, problem, readOnly = false, onSave }, ref) {
  const id = useId();
  const text = useRef<HTMLTextAreaElement>(null);
  const [scroll, setScroll] = useState({ top: 0, left: 0 });
  const leaving = useRef(false);

  const goTo = (line: number, column: number) => {
    const el = text.current;
    if (!el) return;
    const offset = offsetOf(el.value, line, column);
    el.focus();
    el.setSelectionRange(offset, offset);
    // Bring the line into view: the browser scrolls to the caret only on typing.
    el.scrollTop = Math.max(0, (line - 3) * LINE_HEIGHT);
  };
  useImperativeHandle(ref, () => ({ goTo }));

  const insert = (insertion: string) => {
    const el = text.current!;
    // insertText keeps the browser's undo history; the fallback edits the value directly.
    if (!document.execCommand('insertText', false, insertion)) {
      const { selectionStart: start, selectionEnd: end } = el;
      onChange(el.value.slice(0, start) + insertion + el.value.slice(end));
      requestAnimationFrame(() => el.setSelectionRange(start + insertion.length, start + insertion.length));
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      onSave?.();
      return;
    }
    if (readOnly) return;
    if (event.key === 'Escape') {
      leaving.current = true;
      return;
    }
    if (event.key === 'Tab' && !event.shiftKey && !leaving.current && !event.altKey) {
      event.preventDefault();
      insert('  ');
    } else if (event.key === 'Enter' && !event.shiftKey && !event.ctrlKey && !event.metaKey) {
      const el = event.currentTarget;
      const before = el.value.slice(0, el.selectionStart);
      const indent = /(^|\n)([ \t]*)[^\n]*$/.exec(before)?.[2] ?? '';
      const opens = /\{\s*$/.test(before) ? '  ' : '';
      if (indent || opens) {
        event.preventDefault();
        insert(`\n${indent}${opens}`);
      }
    }
    leaving.current = false;
  };

  const lines = lineCount(value);
  const onScroll = (event: UIEvent<HTMLTextAreaElement>) =>
    setScroll({ top: event.currentTarget.scrollTop, left: event.currentTarget.scrollLeft });
  const errorId = `${id}-problem`;
  const hintId = `${id}-hint`;
  const marked = problem?.line;

  return (
    <div className="hcl">
      <label htmlFor={id} className="hcl-label">
        {label}
      </label>
      <div className={`hcl-frame${problem ? ' hcl-frame-invalid' : ''}`}>
        <div className="hcl-gutter" aria-hidden="true">
          <div style={{ transform: `translateY(${-scroll.top}px)` }}>
            {Array.from({ length: lines }, (_, i) => (
              <div key={i} className={i + 1 === marked ? 'hcl-lineno hcl-lineno-error' : 'hcl-lineno'}>
                {i + 1}
              </div>
            ))}
          </div>
        </div>
        <div className="hcl-body">
          {problem?.line !== undefined && problem.column !== undefined ? (
            <span
              className="hcl-marker"
              aria-hidden="true"
              style={{
                top: `${PADDING + (problem.line - 1) * LINE_HEIGHT - scroll.top}px`,
                left: `calc(${PADDING}px + ${problem.column - 1}ch - ${scroll.left}px)`,
              }}
            />
          ) : null}
          <textarea
            ref={text}
            id={id}
            className="hcl-text"
            value={value}
            readOnly={readOnly}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            autoCorrect="off"
            wrap="off"
            rows={Math.min(Math.max(lines + 1, 12), 28)}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? `${errorId} ${hintId}` : hintId}
            onChange={(event) => onChange(event.target.value)}
            onKeyDown={onKeyDown}
            onScroll={onScroll}
          />
        </div>
      </div>
      <p className="field-hint" id={hintId}>
        Tab indents; Escape then Tab leaves the editor; Ctrl+S saves.
      </p>
      <div id={errorId} aria-live="polite">
        {problem ? (
          <div className="hcl-problem" role="group" aria-label="Problem in the policy">
            <p>
              {problem.line !== undefined ? (
                <strong>
                  Line {problem.line}, column {problem.column}:{' '}
                </strong>
              ) : null}
              {problemText(problem)}
            </p>
            {problem.line !== undefined ? (
              <button type="button" className="btn btn-ghost" onClick={() => goTo(problem.line!, problem.column ?? 1)}>
                Go to line {problem.line}, column {problem.column}
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </div>
  );
});
