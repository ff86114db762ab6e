-- One 信用+ programme: the subjects whose authorisation of its partner is valid today
-- (ops.recipient_authorisations), and the size of its list as the partner holds it now
-- (ops.publication_state of the programme's platform, dataset credit_plus).
SELECT (SELECT count(DISTINCT uscc)
          FROM ops.recipient_authorisations
         WHERE recipient_role = %(role)s AND valid_from <= current_date
           AND (valid_to IS NULL OR valid_to >= current_date)),
       (SELECT count(*) FROM ops.publication_state WHERE platform = %(platform)s AND dataset = 'credit_plus'),
       (SELECT count(DISTINCT split_part(item_key, '|', 3))
          FROM ops.publication_state WHERE platform = %(platform)s AND dataset = 'credit_plus')
