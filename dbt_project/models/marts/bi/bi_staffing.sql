{{ config(post_hook="{{ copy_column_comments(ref('fct_staffing')) }}") }}

{{ bi_view('fct_staffing') }}
