-- A draw anyone can check (双随机、一公开): before a round is drawn, its plan is announced (抽查公告):
-- the round, when it will be drawn, and the public source of the value its seed is made of (a
-- named lottery draw on a named date, say 福彩3D 第2026320期开奖号码, 2026-12-01), each recorded
-- with the time the warehouse received it. The value itself is entered later, once the source has
-- published it. The draw refuses a round without an announcement made before its draw time, or
-- without its value; the plans record the value, and each public plan's verification kit carries
-- the announcement with its times (algorithm credit-draw-3, plugins/credit_platform/inspection).
--
-- An announcement is never changed or withdrawn: its source, draw time and announcement time stay
-- as first recorded, and its value, once recorded, stays (a trigger refuses anything else; no role
-- may delete). A round announced wrongly is announced again under another round name.

CREATE TABLE ops.draw_announcements (
    draw_round        text        PRIMARY KEY CHECK (btrim(draw_round) <> ''),
    value_source      text        NOT NULL CHECK (btrim(value_source) <> ''),
    draw_at           timestamptz NOT NULL,
    announced_at      timestamptz NOT NULL DEFAULT now(),
    announced_by      text        NOT NULL DEFAULT session_user,
    announced_value   text        CHECK (btrim(announced_value) <> ''),
    value_recorded_at timestamptz,
    value_recorded_by text,
    CHECK ((announced_value IS NULL) = (value_recorded_at IS NULL))
);
COMMENT ON TABLE ops.draw_announcements IS '抽查公告: one row per draw round, announced before it is drawn (source of the value, draw time), and the value once published; never changed or deleted';
COMMENT ON COLUMN ops.draw_announcements.draw_round IS '抽查批次 (ops.inspection_plans.draw_round)';
COMMENT ON COLUMN ops.draw_announcements.value_source IS '随机值来源: the public source of the value, e.g. 福彩3D 第2026320期开奖号码, 2026-12-01 (a demo says it is one)';
COMMENT ON COLUMN ops.draw_announcements.draw_at IS '抽取时间: when the round will be drawn; the draw refuses to run before it, or when the announcement was not made before it';
COMMENT ON COLUMN ops.draw_announcements.announced_at IS '公告时间: when the warehouse received the announcement (its clock, not the announcer''s)';
COMMENT ON COLUMN ops.draw_announcements.announced_value IS '公布值: the value as the source published it, entered after the announcement; with the plan id, what the seed is made of';
COMMENT ON COLUMN ops.draw_announcements.value_recorded_at IS '录入时间 of the value (the warehouse''s clock)';

-- What may change: only a missing value may be recorded, once.
CREATE FUNCTION ops.draw_announcement_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.draw_round IS DISTINCT FROM OLD.draw_round OR NEW.value_source IS DISTINCT FROM OLD.value_source
       OR NEW.draw_at IS DISTINCT FROM OLD.draw_at OR NEW.announced_at IS DISTINCT FROM OLD.announced_at
       OR NEW.announced_by IS DISTINCT FROM OLD.announced_by THEN
        RAISE EXCEPTION '抽查公告发布后不能更改 / the announcement of round % cannot be changed once made', OLD.draw_round
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.announced_value IS NOT NULL AND (NEW.announced_value IS DISTINCT FROM OLD.announced_value
       OR NEW.value_recorded_at IS DISTINCT FROM OLD.value_recorded_at
       OR NEW.value_recorded_by IS DISTINCT FROM OLD.value_recorded_by) THEN
        RAISE EXCEPTION '抽查批次 % 的公布值已录入，不能更改 / the value of round % is recorded and cannot be changed',
            OLD.draw_round, OLD.draw_round USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER draw_announcement_unchanged BEFORE UPDATE ON ops.draw_announcements
    FOR EACH ROW EXECUTE FUNCTION ops.draw_announcement_unchanged();

-- The publisher announces, records the value and draws; analysts read (grants.py).
GRANT SELECT, INSERT, UPDATE ON ops.draw_announcements TO credit_publisher;
GRANT SELECT ON ops.draw_announcements TO credit_analyst;

COMMENT ON TABLE ops.inspection_plans IS '双随机抽查计划: one row per round, department and inspection matter (credit-draw-2 and -3; per department and period for credit-draw-1); the seed is SHA-256 of plan id and announced value, the round''s value in ops.draw_announcements from credit-draw-3';
